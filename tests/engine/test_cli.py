import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from engine.cli import main
from engine.labels import get_label_set
from tests.conftest import REPO, load_fixture
from tests.factories import make_tiny_spade


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_spade(tmp_path_factory.mktemp("models") / "tiny-facades", "facades", instances=True)


def facade_ids(h=48, w=80) -> np.ndarray:
    ids = np.full((h, w), 2, np.uint8)
    ids[:10] = 1
    ids[20:30, 10:30] = 3
    return ids


def test_synth_end_to_end_in_a_subprocess(model_dir, tmp_path):
    Image.fromarray(facade_ids()).save(tmp_path / "labels.png")
    out = tmp_path / "out.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "synth",
            "--model",
            str(model_dir),
            "--labels",
            str(tmp_path / "labels.png"),
            "-o",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (80, 48)


def test_id_palette_and_colour_pngs_give_the_same_photo(model_dir, tmp_path, capsys):
    ids = facade_ids()
    facades = get_label_set("facades")
    Image.fromarray(ids).save(tmp_path / "ids.png")
    facades.to_palette_image(ids).save(tmp_path / "palette.png")
    Image.fromarray(facades.to_colors(ids)).save(tmp_path / "colors.png")
    outputs = []
    for name in ("ids", "palette", "colors"):
        out = tmp_path / f"{name}_out.png"
        assert (
            main(
                [
                    "synth",
                    "--model",
                    str(model_dir),
                    "--labels",
                    str(tmp_path / f"{name}.png"),
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        outputs.append(np.asarray(Image.open(out)))
    assert np.array_equal(outputs[0], outputs[1]) and np.array_equal(outputs[0], outputs[2])
    assert "wrote" in capsys.readouterr().out


def test_instances_png_and_16_bit_ids(model_dir, tmp_path):
    ids = facade_ids()
    Image.fromarray(ids).save(tmp_path / "ids.png")
    instances = ids.astype(np.int32) * 1000
    instances[:, 40:] += 1
    Image.fromarray(instances.astype(np.uint16)).save(tmp_path / "inst.png")
    plain, split = tmp_path / "plain.png", tmp_path / "split.png"
    assert (
        main(["synth", "--model", str(model_dir), "--labels", str(tmp_path / "ids.png"), "-o", str(plain)])
        == 0
    )
    args = [
        "synth",
        "--model",
        str(model_dir),
        "--labels",
        str(tmp_path / "ids.png"),
        "--instances",
        str(tmp_path / "inst.png"),
        "-o",
        str(split),
    ]
    assert main(args) == 0
    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(split)))


@pytest.mark.parametrize(
    "make_input, message",
    [
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n broken"), "labels.png"),
        (lambda p: None, "labels.png"),
        (lambda p: Image.fromarray(np.full((8, 8, 3), (1, 2, 3), np.uint8)).save(p), "#010203"),
        (lambda p: Image.fromarray(np.full((8, 8), 40, np.uint8)).save(p), "label id 40"),
    ],
    ids=["corrupt", "missing", "unknown-colour", "id-out-of-range"],
)
def test_bad_input_gives_one_line_error_and_no_traceback(model_dir, tmp_path, capsys, make_input, message):
    make_input(tmp_path / "labels.png")
    code = main(
        [
            "synth",
            "--model",
            str(model_dir),
            "--labels",
            str(tmp_path / "labels.png"),
            "-o",
            str(tmp_path / "o.png"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_import_official_and_models_listing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    _, weights, _ = load_fixture("spade_small")
    torch.save(weights["G"], tmp_path / "latest_net_G.pth")
    code = main(
        [
            "import-official",
            "--kind",
            "spade",
            "--generator",
            str(tmp_path / "latest_net_G.pth"),
            "--labelset",
            "ade20k",
            "-o",
            str(tmp_path / "home" / "models" / "x"),
        ]
    )
    assert code == 2 and "does not fit" in capsys.readouterr().err
    make_tiny_spade(tmp_path / "home" / "models" / "mine", "facades", name="my-facades")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "my-facades" in out and "facades" in out and "coco" in out


def test_sketch_translates_a_sketch_at_its_own_size(tmp_path, capsys):
    from tests.factories_pix2pix import make_tiny_pix2pix

    folder = make_tiny_pix2pix(tmp_path / "sketchy", default_mode="deterministic")
    sketch = np.full((40, 70), 255, np.uint8)
    sketch[10:12, 5:60] = 0
    Image.fromarray(sketch).save(tmp_path / "sketch.png")
    args = ["sketch", "--model", str(folder), "--sketch", str(tmp_path / "sketch.png")]
    assert main([*args, "-o", str(tmp_path / "a.png"), "--device", "cpu"]) == 0
    assert main([*args, "-o", str(tmp_path / "b.png"), "--device", "cpu"]) == 0
    a, b = np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(tmp_path / "b.png"))
    assert a.shape == (40, 70, 3)
    assert np.array_equal(a, b)  # deterministic mode: the same sketch gives the same photo

    from engine.loader import load_model

    photo = np.zeros((60, 90, 3), np.uint8)
    photo[15:45, 20:70] = 230
    Image.fromarray(photo).save(tmp_path / "photo.png")
    traced = ["sketch", "--model", str(folder), "--trace", str(tmp_path / "photo.png"), "--device", "cpu"]
    assert main([*traced, "-o", str(tmp_path / "t.png"), "--save-sketch", str(tmp_path / "lines.png")]) == 0
    model = load_model(folder, device="cpu")
    expected = model.translate(model.trace(photo), mode="deterministic")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "t.png")), expected)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "lines.png")), model.trace(photo))  # to edit


def test_each_command_defaults_to_an_installed_model_of_its_kind(tmp_path, monkeypatch, capsys):
    from tests.factories_pix2pix import make_tiny_pix2pix

    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    make_tiny_pix2pix(tmp_path / "home" / "models" / "sketchy", name="sketchy")
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "sketch.png")
    out = tmp_path / "out.png"
    assert main(["sketch", "--sketch", str(tmp_path / "sketch.png"), "-o", str(out), "--device", "cpu"]) == 0
    assert "model sketchy" in capsys.readouterr().out
    # a label-map command finds no label-to-photo model and says so, naming what it needs
    Image.fromarray(facade_ids()).save(tmp_path / "labels.png")
    assert main(["synth", "--labels", str(tmp_path / "labels.png"), "-o", str(out)]) == 2
    assert "no spade or pix2pixhd model is installed" in capsys.readouterr().err
    # a model of another kind is refused with the kinds the command needs
    sketchy = str(tmp_path / "home" / "models" / "sketchy")
    assert main(["synth", "--model", sketchy, "--labels", str(tmp_path / "labels.png"), "-o", str(out)]) == 2
    assert "is a pix2pix model; this command needs spade or pix2pixhd" in capsys.readouterr().err


def test_colorize_applies_hints_from_json_and_reports_bad_hint_files(tmp_path, capsys):
    from tests.factories_colorization import make_tiny_colorization

    folder = make_tiny_colorization(tmp_path / "colours")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64), dtype=np.uint8)).save(tmp_path / "grey.png")
    base = ["colorize", "--model", str(folder), "--image", str(tmp_path / "grey.png"), "--device", "cpu"]
    assert main([*base, "-o", str(tmp_path / "plain.png")]) == 0
    (tmp_path / "hints.json").write_text('[{"x": 30, "y": 20, "color": "#ff0000", "size": 9}]')
    assert main([*base, "--hints", str(tmp_path / "hints.json"), "-o", str(tmp_path / "hinted.png")]) == 0
    plain = np.asarray(Image.open(tmp_path / "plain.png")).astype(int)
    hinted = np.asarray(Image.open(tmp_path / "hinted.png")).astype(int)
    assert hinted.shape == (48, 64, 3)
    assert np.abs(hinted - plain).max() > 0  # the red hint changed the colours
    (tmp_path / "bad.json").write_text('[{"x": 1}]')
    assert main([*base, "--hints", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.png")]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_inpaint_fills_only_the_white_part_of_the_mask(tmp_path, capsys):
    from tests.factories_lama import make_tiny_lama

    folder = make_tiny_lama(tmp_path / "filler")
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask = np.zeros((50, 70), np.uint8)
    mask[10:30, 20:45] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    args = ["inpaint", "--model", str(folder), "--image", str(tmp_path / "photo.png"), "--device", "cpu"]
    assert main([*args, "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png")]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    hole = mask > 0
    assert np.array_equal(out[~hole], photo[~hole])
    assert not np.array_equal(out[hole], photo[hole])
    Image.fromarray(np.zeros((50, 70), np.uint8)).save(tmp_path / "empty.png")
    assert main([*args, "--mask", str(tmp_path / "empty.png"), "-o", str(tmp_path / "x.png")]) == 2
    assert "mask" in capsys.readouterr().err
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main([*args, "--mask", str(tmp_path / "broken.png"), "-o", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.startswith("error: the mask ")  # which of the two files is broken


def test_inpaint_with_a_guide_and_no_model_picks_an_installed_guided_model(tmp_path, monkeypatch, capsys):
    from engine.loader import load_model
    from tests.factories_lama import make_tiny_lama

    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    make_tiny_lama(tmp_path / "home" / "models" / "a-plain")  # the default without --guide
    guided = make_tiny_lama(tmp_path / "home" / "models" / "b-guided", name="b-guided", guide_channels=1)
    photo = np.random.default_rng(2).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    hole = np.zeros((40, 56), bool)
    hole[8:30, 10:40] = True
    guide = np.zeros((40, 56), np.uint8)
    guide[20, 10:40] = 255
    for name, array in (("photo", photo), ("mask", hole.astype(np.uint8) * 255), ("guide", guide)):
        Image.fromarray(array).save(tmp_path / f"{name}.png")
    args = ["inpaint", "--image", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png")]
    args += ["--guide", str(tmp_path / "guide.png"), "--device", "cpu", "-o", str(tmp_path / "out.png")]
    assert main(args) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert np.array_equal(out, load_model(guided, device="cpu").inpaint(photo, hole, guide))


def test_synth_with_a_pix2pixhd_model_uses_instances_and_seeded_feature_codes(tmp_path, capsys):
    from tests.factories_pix2pixhd import make_tiny_pix2pixhd

    folder = make_tiny_pix2pixhd(tmp_path / "hd", "facades", bank={3: np.linspace(-1, 1, 9).reshape(3, 3)})
    labels = facade_ids(32, 64)
    instances = labels.astype(np.int32)
    instances[20:30, 10:30] = 3001  # one window instance
    Image.fromarray(labels).save(tmp_path / "labels.png")
    Image.fromarray(instances.astype(np.uint16)).save(tmp_path / "inst.png")
    args = ["synth", "--model", str(folder), "--labels", str(tmp_path / "labels.png"), "--device", "cpu"]
    args += ["--instances", str(tmp_path / "inst.png")]
    outs = []
    for seed in (1, 1):
        out = tmp_path / f"out{len(outs)}.png"
        assert main([*args, "--seed", str(seed), "-o", str(out)]) == 0
        outs.append(np.asarray(Image.open(out)))
    assert outs[0].shape == (32, 64, 3)
    assert np.array_equal(outs[0], outs[1])  # the same seed picks the same feature codes
    # a style image means nothing to such a model: refused with the reason
    assert main([*args, "--style", str(tmp_path / "labels.png"), "-o", str(tmp_path / "x.png")]) == 2
    assert "feature codes" in capsys.readouterr().err


@pytest.mark.shipped
def test_models_listing_says_what_each_shipped_model_is_given(capsys):
    assert main(["models"]) == 0
    models_section = capsys.readouterr().out.split("Label sets")[0]
    rows = {line.split()[0]: line for line in models_section.splitlines() if line.startswith("  ")}
    assert "labels facades" in rows["facades"] and "labels facades" in rows["facades-instances"]
    assert " sketch " in rows["sketch-facades"] and " grey+hints " in rows["colorize-photos"]
    assert " photo+hole " in rows["inpaint-photos"] and " photo+hole+guide " in rows["inpaint-photos-guided"]
    assert not any(" - " in row for row in rows.values())
