"""``python -m trainers.inpaint`` and ``python -m trainers.evaluate inpaint`` on tiny photo folders:
holes and guides per sample, the same network input as the engine, the LaMa discriminator loss,
exported models the engine inpaints with, exact resume, and the evaluation table."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine import load_model
from engine.checkpoints import ModelCard, read_card
from engine.inpainting import InpaintingModel
from engine.models.lama import FFCResNetGenerator, LaMaConfig
from tests.factories import make_tiny_spade
from tests.factories_lama import make_tiny_lama
from tests.trainers.test_spade import assert_same_training_state
from trainers import evaluate, inpaint
from trainers.augment import Augmentation
from trainers.checkpoint import load_checkpoint
from trainers.evaluation import inpaint as evaluation
from trainers.evaluation.metrics import psnr
from trainers.loop import TrainingError, TrainingStep, build_optimizers
from trainers.masks import MaskConfig
from trainers.photos import find_photos

TINY = ["--size", "32", "--ngf", "8", "--n-blocks", "1", "--ndf", "8", "--batch", "2", "--workers", "0"]
QUIET = ["--no-progress", "--no-tensorboard"]


def write_photos(folder, count, size=(40, 48), seed=0):
    """Photos of a dark and a bright flat colour (left, right) with noise: an edge, holes to fill."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        photo = np.empty((*size, 3))
        photo[:, : size[1] // 2], photo[:, size[1] // 2 :] = rng.integers(0, 90, 3), rng.integers(170, 256, 3)
        photo += rng.normal(0, 4, photo.shape)
        Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


def train(data, out, *extra: str) -> None:
    assert inpaint.main(["--data", str(data), "--out", str(out), *TINY, *QUIET, *extra]) == 0


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), 6)


def dataset(photos, **options):
    return inpaint.MaskedPhotoDataset(find_photos([photos]).samples, Augmentation((32, 32)), **options)


def test_every_sample_gets_a_hole_that_is_a_function_of_seed_epoch_and_index(photos):
    data = dataset(photos, masks=MaskConfig(), seed=5)
    later = data[(2, 1)]
    a, b, c = data[(2, 0)], data[(2, 0)], data[(3, 0)]
    assert a["mask"].shape == (1, 32, 32) and set(a["mask"].unique().tolist()) == {0.0, 1.0}
    assert 0.05 <= a["mask"].mean() <= 0.6
    assert torch.equal(a["mask"], b["mask"]) and torch.equal(data[(2, 1)]["mask"], later["mask"])
    assert not torch.equal(a["mask"], later["mask"]) and not torch.equal(a["mask"], c["mask"])
    other_seed = dataset(photos, masks=MaskConfig(), seed=6)[(2, 0)]
    assert not torch.equal(a["mask"], other_seed["mask"])
    preview = dataset(photos, masks=MaskConfig(), seed=5, augment=False)[(2, 0)]
    assert torch.equal(preview["mask"], a["mask"])  # the hole does not depend on the crop's draws
    assert "guide" not in a


def test_guides_are_the_canny_edges_of_the_crop_and_are_dropped_for_a_share_of_samples(photos):
    data = dataset(photos, masks=MaskConfig(), guides=True, guide_dropout=0.0)
    found = 0
    for index in range(6):
        item = data[(index, 0)]
        crop = item["image"].add(1).mul(127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        guide = item["guide"][0].numpy()
        assert guide.shape == (32, 32)
        assert any(np.array_equal(guide, inpaint.guide_edges(crop, w)) for w in inpaint.GUIDE_WIDTHS)
        found += guide.sum() >= 32  # the colour boundary crosses the crop top to bottom
    assert found >= 3
    dropped = dataset(photos, masks=MaskConfig(), guides=True, guide_dropout=1.0)
    assert all(dropped[(i, 0)]["guide"].sum() == 0 for i in range(3))
    half = dataset(photos, masks=MaskConfig(), guides=True, guide_dropout=0.5)
    empty = [half[(i % 6, i // 6)]["guide"].sum() == 0 for i in range(60)]
    assert 15 <= sum(empty) <= 45


@pytest.mark.parametrize("guide_channels", [0, 1])
def test_the_trainer_feeds_the_generator_what_the_engine_feeds_it(guide_channels):
    torch.manual_seed(0)
    config = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1, guide_channels=guide_channels)
    generator = FFCResNetGenerator(config).eval()
    card = ModelCard("t", "lama", config.to_dict(), None, (32, 32))
    engine_model = InpaintingModel(card, generator, torch.device("cpu"), torch.float32)
    image = torch.rand(1, 3, 32, 32)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 4:30] = 1
    guide = (torch.rand(1, 1, 32, 32) > 0.7).float()
    batch = {"image": image * 2 - 1, "mask": mask, "guide": guide}
    recipe = inpaint.InpaintRecipe(config, 32, inpaint.InpaintTraining())
    with torch.no_grad():
        predicted, composite = recipe._fill(batch, generator)
    expected = engine_model.predict(image, mask, guide if guide_channels else None)
    torch.testing.assert_close(predicted, expected, atol=1e-6, rtol=0)
    assert torch.equal(composite[mask.expand(1, 3, -1, -1) == 0], image[mask.expand(1, 3, -1, -1) == 0])


def test_only_discriminator_patches_over_the_hole_are_fake():
    logits = torch.randn(2, 1, 4, 4)
    real = torch.randn(2, 1, 4, 4)
    nothing, everything = torch.zeros(2, 1, 32, 32), torch.ones(2, 1, 32, 32)
    d_real, d_fake = inpaint.masked_nonsaturating_d_loss(real, logits, nothing)
    torch.testing.assert_close(d_real, torch.nn.functional.softplus(-real).mean())
    torch.testing.assert_close(d_fake, torch.nn.functional.softplus(-logits).mean())  # all "real"
    _, d_fake = inpaint.masked_nonsaturating_d_loss([real, real], [logits, logits], everything)
    torch.testing.assert_close(d_fake, torch.nn.functional.softplus(logits).mean())
    corner = torch.zeros(1, 1, 32, 32)
    corner[..., 9:10, 30:] = 1  # touches patch cells (1, 3) only: cells are 8 px
    assert inpaint.hole_patches(corner, logits[:1]).nonzero().tolist() == [[0, 0, 1, 3]]


def test_r1_is_lazy_every_nth_d_step_and_n_times_heavier():
    torch.manual_seed(0)
    config = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1)
    recipe = inpaint.InpaintRecipe(config, 32, inpaint.InpaintTraining(ndf=8, r1_every=4))
    networks = recipe.build_networks()
    ctx = TrainingStep(networks, build_optimizers(recipe, networks), torch.device("cpu"), amp=False)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 4:30] = 1
    batch = {"image": torch.rand(2, 3, 32, 32) * 2 - 1, "mask": mask}
    with_r1 = []
    for _ in range(6):
        with_r1.append("D/r1" in recipe.train_step(batch, ctx))
        ctx.finish()
    assert with_r1 == [True, False, False, False, True, False]
    assert [recipe.training.r1_due(step) for step in (0, 3, 8)] == [True, False, True]
    assert not inpaint.InpaintTraining(lambda_r1=0).r1_due(0)
    with pytest.raises(TrainingError, match="--r1-every must be at least 1"):
        inpaint.InpaintTraining(r1_every=0)


def test_without_adversarial_weights_d_is_left_alone_and_the_hole_mse_is_trained():
    torch.manual_seed(0)
    config = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1)
    training = inpaint.InpaintTraining(ndf=8, lambda_adv=0, lambda_feat=0, lambda_l1_hole=0, lambda_l2_hole=5)
    recipe = inpaint.InpaintRecipe(config, 32, training)
    networks = recipe.build_networks()
    d_before = {k: v.clone() for k, v in networks["D"].state_dict().items()}
    ctx = TrainingStep(networks, build_optimizers(recipe, networks), torch.device("cpu"), amp=False)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 4:30] = 1
    batch = {"image": torch.full((2, 3, 32, 32), 0.4), "mask": mask}  # a flat photo: easy to fill
    first = recipe.train_step(batch, ctx)
    ctx.finish()
    for _ in range(20):
        last = recipe.train_step(batch, ctx)
        ctx.finish()
    assert set(first) == {"G/l1_known", "G/l2_hole"}
    assert float(last["G/l2_hole"]) < 0.8 * float(first["G/l2_hole"])
    assert all(torch.equal(v, d_before[k]) for k, v in networks["D"].state_dict().items())
    hole_mse = inpaint.region_mse(torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), mask[:1, :, :4, :4])
    assert float(hole_mse) == 0  # no hole pixel in that corner: nothing to count
    everywhere = torch.ones(1, 1, 4, 4)
    assert (
        float(inpaint.region_mse(torch.full((1, 3, 4, 4), 0.5), torch.zeros(1, 3, 4, 4), everywhere)) == 0.25
    )


def test_frozen_norm_keeps_the_generators_batch_norm_statistics():
    torch.manual_seed(0)
    config = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 4:30] = 1
    batch = {"image": torch.rand(2, 3, 32, 32) * 2 - 1, "mask": mask}
    moved = []
    for frozen in (False, True):
        recipe = inpaint.InpaintRecipe(config, 32, inpaint.InpaintTraining(ndf=8, frozen_norm=frozen))
        networks = recipe.build_networks()
        before = {k: v.clone() for k, v in networks["G"].state_dict().items()}
        ctx = TrainingStep(networks, build_optimizers(recipe, networks), torch.device("cpu"), amp=False)
        recipe.train_step(batch, ctx)
        ctx.finish()
        changed = {k for k, v in networks["G"].state_dict().items() if not torch.equal(v, before[k])}
        moved.append(any("running_" in k for k in changed))
        assert any(k.endswith("conv.weight") or "convl2l.weight" in k for k in changed)  # G trains either way
    assert moved == [True, False]


def test_a_short_run_exports_a_model_the_engine_inpaints_with(photos, tmp_path):
    run = tmp_path / "run"
    train(photos, run, "--iters", "3", "--sample-every", "3")
    card = read_card(run / "model")
    assert card.kind == "lama" and card.native_size == (32, 32) and card.label_set is None
    assert card.architecture["guide_channels"] == 0 and card.architecture["ngf"] == 8
    assert card.training["steps"] == 3 and card.training["batch"] == 2 and card.training["hardware"]
    assert card.training["masks"]["coverage"] == [0.05, 0.6] and card.training["lambda_r1"] == 0.001
    assert card.training["r1_every"] == 16
    assert set(card.training["final_losses"]) == {
        "G/adv", "G/feat", "G/l1_known", "G/l1_hole", "D/real", "D/fake", "D/r1"
    }  # fmt: skip
    assert "6 photos" in card.trained_on and {"sample_hole_l1", "sample_hole_psnr"} <= set(card.metrics)
    grid = Image.open(run / "samples" / "step_0000003.png")
    assert grid.size == (3 * 32 + 2 * 2, 4 * 32 + 3 * 2)  # input | output | real, 4 fixed samples

    model = load_model(run / "model", device="cpu")
    assert not model.supports_guide
    photo = np.asarray(Image.open(photos / "p0.png").convert("RGB").resize((56, 44)))
    hole = np.zeros(photo.shape[:2], bool)
    hole[10:30, 20:40] = True
    filled = model.inpaint(photo, hole)
    assert filled.shape == photo.shape and np.array_equal(filled[~hole], photo[~hole])
    assert not np.array_equal(filled[hole], photo[hole])


def test_a_guided_run_exports_a_model_whose_fill_follows_the_guide(photos, tmp_path):
    train(photos, tmp_path / "guided", "--iters", "2", "--guided", "--no-tensorboard")
    card = read_card(tmp_path / "guided" / "model")
    assert card.architecture["guide_channels"] == 1 and card.training["guide_dropout"] == 0.3
    model = load_model(tmp_path / "guided" / "model", device="cpu")
    assert model.supports_guide
    photo = np.full((32, 32, 3), 120, np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    sketch = np.zeros((32, 32), np.uint8)
    sketch[16, :] = 255
    with_guide, without = model.inpaint(photo, hole, sketch), model.inpaint(photo, hole)
    assert np.array_equal(with_guide[~hole], photo[~hole])
    assert np.abs(with_guide.astype(int) - without).max() > 0


def test_a_guided_run_can_start_from_an_unguided_model(photos, tmp_path):
    train(photos, tmp_path / "plain", "--iters", "1")
    plain = str(tmp_path / "plain" / "model")
    train(photos, tmp_path / "guided", "--iters", "1", "--guided", "--init", plain)
    assert load_model(tmp_path / "guided" / "model", device="cpu").supports_guide


def test_resume_equals_an_uninterrupted_run(photos, tmp_path):
    """Stopped after 2 of 4 iterations (3 batches per epoch: the rest crosses an epoch, whose holes
    differ) and resumed: the same weights, EMA, optimiser moments and step as one run of 4."""
    train(photos, tmp_path / "stopped", "--iters", "2", "--no-export")
    assert inpaint.main(["--out", str(tmp_path / "stopped"), "--resume", "--iters", "4", *QUIET]) == 0
    train(photos, tmp_path / "straight", "--iters", "4", "--no-export")
    resumed = load_checkpoint(tmp_path / "stopped" / "checkpoint.pt")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert resumed["loop"]["step"] == 4 and resumed["loop"]["epoch"] == 1
    assert_same_training_state(resumed, straight)
    for name in ("G", "D"):
        for a, b in zip(
            resumed["optimizers"][name]["state"].values(),
            straight["optimizers"][name]["state"].values(),
            strict=True,
        ):
            torch.testing.assert_close(a["exp_avg_sq"], b["exp_avg_sq"], atol=0, rtol=0)


def test_cpu_defaults_are_compact_and_big_lama_is_one_option():
    parse = inpaint.build_parser().parse_args
    recipe = inpaint.recipe_from_args(parse(["--data", "x", "--out", "y", "--device", "cpu"]))
    assert (recipe.generator.ngf, recipe.generator.n_blocks, recipe.training.ndf) == (32, 4, 32)
    assert recipe.image_size == (256, 256) and recipe.training.lambda_l1_hole == 10
    big = inpaint.recipe_from_args(parse(["--out", "y", "--device", "cpu", "--big-lama", "--guided"]))
    assert big.generator == inpaint.LaMaConfig(guide_channels=1)  # big-lama's architecture + a guide
    perceptual = inpaint.recipe_from_args(
        parse(["--out", "y", "--device", "cpu", "--perceptual-weights", "v"])
    )
    assert perceptual.training.lambda_l1_hole == 0
    restored = inpaint.InpaintRecipe.from_dict(big.to_dict())
    assert restored.generator == big.generator and restored.training == big.training
    text = inpaint.build_parser().format_help()
    for option in (
        "--guided",
        "--coverage",
        "--mask-families",
        "--lambda-r1",
        "--lambda-l1-hole",
        "--resume",
    ):
        assert option in text
    for action in inpaint.build_parser()._actions:
        assert action.help, action.option_strings


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--size", "36"], "--size must be a multiple of 8 and at least 16"),
        (["--coverage", "60", "5"], "coverage band must satisfy 0 < low < high <= 1"),
        (["--mask-families", "medium,wide"], "unknown mask families ['wide']"),
        (["--guided", "--guide-dropout", "2"], "--guide-dropout must be in [0, 1]"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(photos, tmp_path, capsys, options, message):
    code = inpaint.main(
        ["--data", str(photos), "--out", str(tmp_path / "r"), *TINY, *options, "--iters", "1"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


# --- python -m trainers.evaluate inpaint -----------------------------------------------------------------


@pytest.fixture(scope="module")
def masks(tmp_path_factory):
    """Six box masks with an index in the NVIDIA layout; the index ratios put them in bands 0-10,
    10-20 (two), 30-40, 50-60 and outside (70 %); one more file is listed as not stored."""
    root = tmp_path_factory.mktemp("masks")
    folder = root / "irregular"
    folder.mkdir()
    ratios = {"00000": 0.05, "00001": 0.15, "00002": 0.12, "00003": 0.35, "00004": 0.55, "00005": 0.7}
    with (root / "irregular_index.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "hole_ratio_512_original", "hole_ratio_256_stored", "stored"])
        for name, ratio in ratios.items():
            side = round(64 * ratio**0.5)
            mask = np.zeros((64, 64), np.uint8)
            mask[5 : 5 + side, 3 : 3 + side] = 255
            Image.fromarray(mask).convert("1").save(folder / f"{name}.png")
            writer.writerow([name, ratio, ratio, "yes"])
        writer.writerow(["00006", 0.25, 0.25, "no"])
    return folder


def test_pairing_is_seeded_and_uses_the_same_photos_in_every_band(masks, tmp_path):
    photo_files = sorted(write_photos(tmp_path / "photos", 5).glob("*.png"))
    found = evaluation.find_masks(masks)
    assert [m.path.stem for m in found] == ["00000", "00001", "00002", "00003", "00004", "00005"]
    pairs = evaluation.pair_photos_and_masks(photo_files, found, limit=2, seed=0)
    assert list(pairs) == [(0.0, 0.1), (0.1, 0.2), (0.3, 0.4), (0.5, 0.6)]
    assert sorted(m.path.stem for _, m in pairs[(0.1, 0.2)]) == ["00001", "00002"]
    assert pairs[(0.0, 0.1)][0][0] == pairs[(0.3, 0.4)][0][0] == pairs[(0.1, 0.2)][0][0]
    assert evaluation.pair_photos_and_masks(photo_files, found, limit=2, seed=0) == pairs
    other = evaluation.pair_photos_and_masks(photo_files, found, limit=2, seed=1)
    assert [p for p, _ in other[(0.1, 0.2)]] != [p for p, _ in pairs[(0.1, 0.2)]]
    assert evaluation.band_of(0.1) == (0.0, 0.1) and evaluation.band_of(0.0) == (0.0, 0.1)
    assert evaluation.band_of(0.6) == (0.5, 0.6) and evaluation.band_of(0.61) is None
    measured = evaluation.find_masks(masks, index=tmp_path / "none.csv")  # no index: measured ratios
    sides = [round(64 * r**0.5) for r in (0.05, 0.15, 0.12, 0.35, 0.55, 0.7)]
    assert [m.ratio for m in measured] == [side**2 / 64**2 for side in sides]


def band_pair(photo_dir, masks, band):
    """The photo and hole the evaluation pairs first in ``band`` (one pair per band, seed 0)."""
    photos = find_photos([photo_dir]).samples
    pairs = evaluation.pair_photos_and_masks(photos, evaluation.find_masks(masks), 1, 0)
    photo_path, mask = pairs[band][0]
    photo = np.asarray(Image.open(photo_path).convert("RGB"))
    return photo, evaluation.resize_ids(evaluation.read_mask(mask.path), photo.shape[:2])


def test_evaluation_prints_hole_figures_by_band_for_the_model_and_opencv(masks, tmp_path, capsys):
    model = make_tiny_lama(tmp_path / "tiny", name="tiny-lama")
    photo_dir = write_photos(tmp_path / "photos", 3, size=(48, 40))
    argv = ["inpaint", "--model", str(model), "--photos", str(photo_dir), "--masks", str(masks)]
    assert evaluate.main([*argv, "--limit", "1", "--device", "cpu", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("inpainting model 'tiny-lama' on 3 photos and 6 masks")
    rows = [line.split() for line in out[2:]]
    assert [row[0] for row in rows[::3]] == ["0-10", "10-20", "30-40", "50-60", "all"]
    assert [row[1] for row in rows[::3]] == ["1", "1", "1", "1", "4"]
    assert (rows[0][2], rows[1][0], rows[2][0]) == ("tiny-lama", "telea", "navier-stokes")

    # the figures are those of the pair itself: Telea's PSNR on the 30-40 % band, recomputed
    photo, hole = band_pair(photo_dir, masks, (0.3, 0.4))
    telea = evaluation.cv2.inpaint(photo, hole.astype(np.uint8) * 255, 3, evaluation.cv2.INPAINT_TELEA)
    assert float(rows[7][1]) == pytest.approx(psnr(telea, photo, hole), abs=0.005)  # row "telea" of 30-40
    model_psnr, model_ssim = float(rows[6][3]), float(rows[6][4])
    assert 0 < model_psnr < 40 and -1 <= model_ssim <= 1

    # --json: the same figures, and the gain over the better OpenCV method, for model cards
    bands = json.loads((tmp_path / "r.json").read_text())["bands"]
    assert list(bands) == ["0-10", "10-20", "30-40", "50-60", "all"] and bands["all"]["pairs"] == 4
    band = bands["30-40"]
    assert band["telea"]["psnr"] == pytest.approx(float(rows[7][1]), abs=0.005)
    opencv = max(band["telea"]["psnr"], band["navier-stokes"]["psnr"])
    assert band["gain_db_over_opencv"] == pytest.approx(band["model"]["psnr"] - opencv)


def test_guided_evaluation_adds_a_row_with_edge_guides_beside_the_unguided_fill(masks, tmp_path, capsys):
    model = make_tiny_lama(tmp_path / "tiny", name="guided-inpainter-21ch", guide_channels=1)  # printed whole
    photo_dir = write_photos(tmp_path / "photos", 3, size=(48, 40))
    argv = ["inpaint", "--model", str(model), "--photos", str(photo_dir), "--masks", str(masks), "--guide"]
    assert evaluate.main([*argv, "--limit", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "edge guides" in out[0]
    rows = [line.split() for line in out[2:]]
    assert [row[0] for row in rows[::4]] == ["0-10", "10-20", "30-40", "50-60", "all"]
    assert rows[0][2] == "guided-inpainter-21ch"
    assert (rows[1][:3], rows[2][0]) == (["+", "edge", "guides"], "telea")

    # the row is the fill given the photo's Canny edges: recomputed for the 30-40 % pair
    photo, hole = band_pair(photo_dir, masks, (0.3, 0.4))
    guide = (evaluation.guide_edges(photo) * 255).astype(np.uint8)
    fill = load_model(model, device="cpu").inpaint(photo, hole, guide)
    assert float(rows[9][3]) == pytest.approx(psnr(fill, photo, hole), abs=0.005)


def test_evaluation_errors_name_the_problem(masks, tmp_path, capsys):
    photo_dir = write_photos(tmp_path / "photos", 2)
    spade = make_tiny_spade(tmp_path / "spade")
    lama = make_tiny_lama(tmp_path / "lama")
    cases = [
        (["--model", str(spade), "--masks", str(masks)], "is a spade model, not an inpainting (lama) model"),
        (["--model", str(lama), "--masks", str(tmp_path / "none")], f"the mask folder {tmp_path / 'none'}"),
        (["--model", str(lama), "--masks", str(masks), "--guide"], "was not trained with guide sketches"),
    ]
    for options, message in cases:
        assert evaluate.main(["inpaint", "--photos", str(photo_dir), *options, "--device", "cpu"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1
