"""The inpainting runtime: official-parity through the import path, windows on big photos, input checks."""

import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.checkpoints import read_card
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.inpainting import (
    InpaintingModel,
    context_window,
    import_official_lama,
    official_config,
    official_generator_state,
    symmetric_pad,
)
from engine.models.lama import LaMaConfig
from tests.conftest import load_fixture, load_manifest
from tests.factories_lama import make_tiny_lama

CPU, FP32 = torch.device("cpu"), torch.float32


def load(folder) -> InpaintingModel:
    return InpaintingModel.from_folder(folder, read_card(folder), CPU, FP32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> InpaintingModel:
    return load(make_tiny_lama(tmp_path_factory.mktemp("lama")))


@pytest.fixture(scope="module")
def guided(tmp_path_factory) -> InpaintingModel:
    return load(make_tiny_lama(tmp_path_factory.mktemp("lama-guided"), guide_channels=1))


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def box_mask(h: int, w: int, top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def test_symmetric_pad_matches_the_official_pad_img_to_modulo():
    io, _, _ = load_fixture("lama_small")
    assert torch.equal(symmetric_pad(io["pad_in_61x50"], 64, 56), io["pad_out_64x56"])
    small = torch.arange(6.0).view(2, 3)
    expected = np.pad(small.numpy(), ((0, 9), (0, 13)), mode="symmetric")  # pads longer than the image
    assert np.array_equal(symmetric_pad(small, 11, 16).numpy(), expected)


def test_import_of_a_lightning_checkpoint_reproduces_the_official_fixture(tmp_path):
    io, weights, _ = load_fixture("lama_small")
    state = {f"generator.{key}": value for key, value in weights["G"].items()}
    state["discriminator.model.0.weight"] = torch.zeros(8, 3, 4, 4)  # other training nets are ignored
    checkpoint = tmp_path / "best.ckpt"
    torch.save({"state_dict": state, "epoch": 3, "global_step": 1200}, checkpoint)
    folder = import_official_lama(checkpoint, tmp_path / "lama")
    card = read_card(folder)
    assert (card.kind, card.license, card.label_set) == ("lama", "Apache-2.0", None)
    assert (card.architecture["ngf"], card.architecture["n_blocks"], card.architecture["ratio_g"]) == (
        16,
        2,
        0.75,
    )
    model = load(folder)
    predicted = model.predict(io["image"], io["mask"])
    torch.testing.assert_close(predicted, io["predicted_image"], atol=1e-4, rtol=0)

    image, hole = io["image_u8"].numpy(), io["mask_u8"].numpy() > 0
    out = model.inpaint(image, io["mask_u8"].numpy())  # official binarisation: any value > 0 is a hole
    assert np.array_equal(out[~hole], image[~hole])
    official = (io["inpainted"][0].permute(1, 2, 0) * 255).clamp(0, 255).to(torch.uint8).numpy()
    diff = np.abs(out.astype(int) - official.astype(int))[hole]
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # truncation may flip at a 1e-6 difference


def test_import_of_the_padded_odd_size_input_matches_a_padded_official_run(tmp_path):
    """61x50 is padded to 64x56 and cropped back: same as running the network on the padded input."""
    io, weights, _ = load_fixture("lama_small")
    torch.save(weights["G"], tmp_path / "generator.pth")  # a bare generator state dict also imports
    model = load(import_official_lama(tmp_path / "generator.pth", tmp_path / "lama"))
    image, mask = io["image"][..., :61, :50], io["mask"][..., :61, :50]
    padded = torch.cat([image * (1 - mask), mask], dim=1)
    padded = torch.from_numpy(np.pad(padded.numpy(), ((0, 0), (0, 0), (0, 3), (0, 6)), mode="symmetric"))
    with torch.inference_mode():
        expected = model.generator(padded)[..., :61, :50]
    torch.testing.assert_close(model.predict(image, mask), expected, atol=1e-6, rtol=0)


def test_big_lama_architecture_is_read_off_the_release_checkpoint_keys():
    entries = load_manifest("lama_big-lama")["networks"]["G"]["state_dict"]
    state = {e["key"]: torch.empty(e["shape"], device="meta") for e in entries}
    state["discriminator.model.0.0.weight"] = torch.empty(64, 3, 4, 4, device="meta")
    generator = official_generator_state(state, "best.ckpt")
    assert len(generator) == 989
    assert official_config(generator, "best.ckpt") == LaMaConfig()  # the defaults are big-lama's


def test_import_names_what_does_not_fit(tmp_path):
    _, weights, _ = load_fixture("lama_small")
    torch.save({"state_dict": {"netG.fc.weight": torch.zeros(3)}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="other.ckpt holds no LaMa generator"):
        import_official_lama(tmp_path / "other.ckpt", tmp_path / "out")
    broken = {f"generator.{k}": v for k, v in weights["G"].items()}
    broken["generator.model.5.conv1.bn_l.weight"] = torch.zeros(7)
    torch.save({"state_dict": broken}, tmp_path / "broken.ckpt")
    with pytest.raises(CheckpointError, match=r"'model.5.conv1.bn_l.weight' has shape \(7,\)"):
        import_official_lama(tmp_path / "broken.ckpt", tmp_path / "out")


def test_unmasked_pixels_are_returned_exactly_and_the_hole_is_filled(tiny):
    image = photo(40, 30)
    mask = box_mask(40, 30, 10, 5, 25, 20)
    out = tiny.inpaint(image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[~mask], image[~mask])
    assert (out[mask] != image[mask]).mean() > 0.9


@pytest.mark.parametrize("size", [(5, 3), (17, 33), (61, 50), (64, 64)])
def test_odd_and_tiny_sizes(tiny, size):
    image = photo(*size, seed=1)
    mask = box_mask(*size, 1, 1, size[0] - 1, size[1] // 2 + 1)
    out = tiny.inpaint(image, mask)
    assert out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])


def record_network_inputs(model: InpaintingModel, monkeypatch) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    forward = model.generator.forward
    monkeypatch.setattr(model.generator, "forward", lambda x: shapes.append(tuple(x.shape)) or forward(x))
    return shapes


def test_a_12_megapixel_photo_with_a_small_hole_runs_on_a_window(tiny, monkeypatch):
    shapes = record_network_inputs(tiny, monkeypatch)
    image = photo(3000, 4000, seed=2)
    mask = box_mask(3000, 4000, 1400, 3900, 1460, 4000)  # touches the right border
    start = time.perf_counter()
    out = tiny.inpaint(image, mask)
    assert time.perf_counter() - start < 10
    assert np.array_equal(out[~mask], image[~mask])
    assert (out[mask] != image[mask]).mean() > 0.9
    assert shapes == [(1, 4, 512, 512)]  # full resolution: a working-size window around the hole


def test_a_large_hole_is_filled_at_the_working_size_and_scaled_back(tiny, monkeypatch):
    shapes = record_network_inputs(tiny, monkeypatch)
    image = photo(1500, 2000, seed=3)
    mask = box_mask(1500, 2000, 300, 400, 1100, 1500)
    out = tiny.inpaint(image, mask)
    assert shapes == [(1, 4, 384, 512)]  # the whole photo is the window, shrunk to 512 long side
    assert np.array_equal(out[~mask], image[~mask])
    # the fill is smooth at full resolution (upsampled), unlike the noise around it
    fill = out[400:1000, 500:1400].astype(float)
    assert np.abs(np.diff(fill, axis=1)).mean() < np.abs(np.diff(image.astype(float), axis=1)).mean() / 4


def test_what_lies_under_the_hole_cannot_leak_into_a_shrunk_window(tiny, monkeypatch):
    """A working pixel that touches the hole is a hole: known ones average known pixels only."""
    inputs = []
    forward = tiny.generator.forward
    monkeypatch.setattr(tiny.generator, "forward", lambda x: inputs.append(x.clone()) or forward(x))
    image = photo(1200, 1600, seed=4)
    mask = box_mask(1200, 1600, 100, 101, 1101, 1203)  # edges off the 3.125x shrink grid
    other = image.copy()
    other[mask] = 255 - other[mask]
    outputs = [tiny.inpaint(picture, mask) for picture in (image, other)]
    assert inputs[0].shape == (1, 4, 384, 512)
    assert torch.equal(inputs[0], inputs[1])
    assert np.array_equal(outputs[0], outputs[1])


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 3000),
    w=st.integers(1, 3000),
    data=st.data(),
)
def test_context_window_contains_the_hole_and_stays_inside(h, w, data):
    top = data.draw(st.integers(0, h - 1))
    left = data.draw(st.integers(0, w - 1))
    bottom = data.draw(st.integers(top + 1, h))
    right = data.draw(st.integers(left + 1, w))
    mask = box_mask(h, w, top, left, bottom, right)
    rows, cols = context_window(mask, 512)
    assert 0 <= rows.start <= top and bottom <= rows.stop <= h
    assert 0 <= cols.start <= left and right <= cols.stop <= w
    assert rows.stop - rows.start >= min(h, 512) and cols.stop - cols.start >= min(w, 512)
    assert rows.stop - rows.start <= max(min(h, 512), 2 * (bottom - top) + 1)


def test_guide_steers_the_fill_only_for_guided_models(tiny, guided):
    image = photo(48, 48, seed=5)
    mask = box_mask(48, 48, 12, 12, 36, 36)
    sketch = np.zeros((48, 48), dtype=np.uint8)
    sketch[:, 24] = 255  # a vertical edge through the hole (and outside it, where it is ignored)
    plain = guided.inpaint(image, mask)
    steered = guided.inpaint(image, mask, sketch)
    assert np.array_equal(steered[~mask], image[~mask])
    assert (steered[mask] != plain[mask]).any()
    assert np.array_equal(guided.inpaint(image, mask, sketch > 0), steered)  # bool = 0/255 uint8
    outside_only = sketch.copy()
    outside_only[mask] = 0
    assert np.array_equal(guided.inpaint(image, mask, outside_only), plain)
    with pytest.raises(InferenceError, match="'tiny-lama' takes no guide sketch"):
        tiny.inpaint(image, mask, sketch)
    with pytest.raises(InputImageError, match="the guide sketch is 40x48 but the image is 48x48"):
        guided.inpaint(image, mask, sketch[:, :40])
    with pytest.raises(InputImageError, match="uint8 or bool"):
        guided.inpaint(image, mask, sketch.astype(np.float32))


def test_bad_inputs_are_reported_in_one_sentence(tiny):
    image = photo(20, 30)
    with pytest.raises(InputImageError, match="the mask is empty"):
        tiny.inpaint(image, np.zeros((20, 30), dtype=bool))
    with pytest.raises(InputImageError, match="the mask is 20x30 but the image is 30x20"):
        tiny.inpaint(image, np.ones((30, 20), dtype=bool))
    with pytest.raises(InputImageError, match="single-channel"):
        tiny.inpaint(image, np.ones((20, 30, 3), dtype=bool))
    with pytest.raises(InputImageError, match="RGB uint8"):
        tiny.inpaint(image.astype(np.float32), np.ones((20, 30), dtype=bool))


def test_from_folder_rejects_another_architecture(tmp_path):
    folder = make_tiny_lama(tmp_path / "m")
    card = read_card(folder)
    card.architecture = {**card.architecture, "label_nc": 3}
    with pytest.raises(CheckpointError, match="is not a LaMa config"):
        InpaintingModel.from_folder(folder, card, CPU, FP32)
    card.architecture = {**read_card(folder).architecture, "ngf": 8}
    with pytest.raises(CheckpointError, match="m/G does not fit this network"):
        InpaintingModel.from_folder(folder, card, CPU, FP32)


def test_warm_up_and_working_size_follow_the_card(tmp_path):
    model = load(make_tiny_lama(tmp_path / "big-native", native=768))
    assert model.working_size == 768
    model.warm_up()
