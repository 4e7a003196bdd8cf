"""The models shipped in assets/models load, run, and carry the measurements their cards promise."""

import csv

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.colorization import global_hint_from_image
from engine.loader import load_model
from engine.registry import SHIPPED_MODELS, list_models
from tests.conftest import DATASETS, require_shared

pytestmark = pytest.mark.shipped


def shipped():
    return [(folder, card) for folder, card in list_models() if folder.parent == SHIPPED_MODELS]


def test_every_shipped_model_is_small_and_documents_its_data_and_metrics():
    total = 0
    for folder, card in shipped():
        size = sum(f.stat().st_size for f in folder.iterdir())
        assert size <= 60 * 2**20, f"{card.name} is {size} bytes"
        total += size
        assert card.trained_on and card.training.get("steps") and card.training.get("hardware"), card.name
        assert card.metrics and card.license, card.name
    assert total <= 200 * 2**20, f"the shipped models take {total} bytes together"


def test_every_shipped_model_runs_in_its_mode():
    rng = np.random.default_rng(0)
    for folder, card in shipped():
        model = load_model(folder, device="cpu")
        if card.kind == "colorization":
            grey = rng.integers(0, 256, (48, 64), dtype=np.uint8)
            out = model.colorize(grey, [])
            if model.has_global_hints:  # a red reference tints the picture
                red = np.zeros((16, 16, 3), np.uint8)
                red[..., 0] = 200
                tinted = model.colorize(grey, [], global_hint=global_hint_from_image(red))
                assert tinted[..., 0].astype(int).mean() > out[..., 0].astype(int).mean() + 2, card.name
        elif card.kind in ("spade", "pix2pixhd"):
            ids = [c.id for c in model.label_set.classes]
            labels = rng.choice(ids, size=(6, 8)).repeat(8, axis=0).repeat(8, axis=1).astype(np.int32)
            out = model.synthesize(labels)
            assert out.std() > 5, f"{card.name} paints a flat picture"
        elif card.kind == "lama":
            photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            hole = np.zeros((48, 64), bool)
            hole[10:30, 20:50] = True
            out = model.inpaint(photo, hole)
            assert np.array_equal(out[~hole], photo[~hole]), card.name
        elif card.kind == "pix2pix":
            sketch = np.full((48, 64), 255, np.uint8)
            sketch[10:40:6] = 0
            out = model.translate(sketch)
        else:
            pytest.fail(f"no smoke test for shipped {card.kind} models yet: add one")
        assert out.shape == (48, 64, 3) and out.dtype == np.uint8, card.name


def hole_psnr(result: np.ndarray, photo: np.ndarray, hole: np.ndarray) -> float:
    error = (result[hole].astype(float) - photo[hole].astype(float)) ** 2
    return float(10 * np.log10(255**2 / error.mean()))


def test_the_shipped_inpainter_beats_opencv_on_large_holes_of_held_out_photos():
    """Its card's claim on a small deterministic sample: BSDS500 test photos (never trained on) with
    NVIDIA masks of 30-60 % holes, PSNR on the hole against the better of Telea and Navier-Stokes."""
    inpainters = [folder for folder, card in shipped() if card.kind == "lama"]
    if not inpainters:
        pytest.skip("no inpainting model is shipped")
    photos = sorted(require_shared(DATASETS / "photos" / "bsds500" / "test").glob("*.jpg"))[:8]
    masks = DATASETS / "masks" / "nvidia_irregular_test"
    with open(require_shared(masks.parent / "nvidia_irregular_test_index.csv"), newline="") as f:
        large = [row["id"] for row in csv.DictReader(f) if row["stored"] == "yes"
                 and 0.3 < float(row["hole_ratio_512_original"]) <= 0.6]  # fmt: skip
    model = load_model(inpainters[0], device="cpu")
    gains = []
    for photo_path, mask_id in zip(photos, large[:: len(large) // len(photos)], strict=False):
        photo = np.asarray(Image.open(photo_path).convert("RGB"))
        mask = Image.open(masks / f"{mask_id}.png").convert("L").resize(photo.shape[1::-1], Image.NEAREST)
        hole = np.asarray(mask) > 127
        filled = model.inpaint(photo, hole)
        assert np.array_equal(filled[~hole], photo[~hole])
        opencv = max(
            hole_psnr(cv2.inpaint(photo, hole.astype(np.uint8) * 255, 3, flag), photo, hole)
            for flag in (cv2.INPAINT_TELEA, cv2.INPAINT_NS)
        )
        gains.append(hole_psnr(filled, photo, hole) - opencv)
    assert len(gains) == len(photos)
    assert np.mean(gains) > 1.0, f"gains over OpenCV (dB): {np.round(gains, 2)}"
