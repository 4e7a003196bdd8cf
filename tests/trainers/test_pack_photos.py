"""The JPEG copy of photo folders that travels to a training machine: layout, sizes, exclusions, budget."""

import numpy as np
from PIL import Image

from trainers.pack_photos import main, pack_photos
from trainers.photos import find_photos


def write_photo(path, size, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    channels = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(rng.integers(0, 255, channels, dtype=np.uint8)).save(path)


def test_copy_keeps_the_layout_shrinks_large_photos_and_skips_excluded_and_broken_ones(tmp_path):
    data = tmp_path / "datasets"
    write_photo(data / "bsds" / "train" / "big.png", (800, 600))
    write_photo(data / "bsds" / "train" / "grey.png", (500, 200), mode="L")
    write_photo(data / "urban" / "small.jpg", (100, 80))
    write_photo(data / "urban" / "left_out.jpg", (100, 80))
    (data / "urban" / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "exclude.txt").write_text("left_out.jpg\n")

    out = tmp_path / "copy"
    report = pack_photos([data / "bsds" / "train", data / "urban"], out, exclude=[tmp_path / "exclude.txt"])

    written = sorted(str(p.relative_to(out)) for p in report.written)
    assert written == ["bsds/train/big.jpg", "bsds/train/grey.jpg", "urban/small.jpg"]
    with Image.open(out / "bsds/train/big.jpg") as big:
        assert big.format == "JPEG" and big.size == (384, 288)  # aspect kept
    with Image.open(out / "bsds/train/grey.jpg") as grey:
        assert grey.mode == "L" and grey.size == (384, 154)
    with Image.open(out / "urban/small.jpg") as small:
        assert small.size == (100, 80)  # never enlarged
    assert any("exclude list" in p for p in report.problems)
    assert any("broken.jpg: not copied" in p for p in report.problems)
    assert len(find_photos([out]).samples) == 3  # the trainers read the copy like the originals


def test_a_single_root_keeps_its_name_and_the_budget_fails_the_command(tmp_path, capsys):
    write_photo(tmp_path / "wallpapers" / "a.png", (600, 400))
    out = tmp_path / "copy"
    assert main(["--data", str(tmp_path / "wallpapers"), "--out", str(out), "--max-side", "64"]) == 0
    assert (out / "wallpapers" / "a.jpg").exists()
    assert "1 photos" in capsys.readouterr().out
    assert main(["--data", str(tmp_path / "wallpapers"), "--out", str(out), "--budget-mb", "0.000001"]) == 1
    assert "over its budget" in capsys.readouterr().err


def test_the_copy_is_upright_like_the_trainers_read_the_original(tmp_path):
    path = tmp_path / "phone" / "portrait.jpg"
    path.parent.mkdir()
    image = Image.new("RGB", (60, 40), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": a phone held upright
    image.save(path, exif=exif)
    report = pack_photos([tmp_path / "phone"], tmp_path / "copy")
    with Image.open(report.written[0]) as copy:
        assert copy.size == (40, 60)  # the pixels themselves are upright; no EXIF left to apply
