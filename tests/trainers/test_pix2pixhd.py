"""``python -m trainers.pix2pixhd`` on tiny synthetic data: exported models the engine runs, the
feature bank of the cluster command, instances from connected components, the global-then-local
schedule (initialisation from a global run, enhancer-only iterations) and exact resume."""

import json

import numpy as np
import pytest
import torch

from engine import load_model
from engine.checkpoints import read_card, read_weights
from engine.labels import get_label_set, read_label_image
from tests.conftest import DATASETS, require_shared
from tests.trainers.synthetic import folder_dataset
from tests.trainers.test_spade import assert_same_training_state
from trainers import export, pix2pixhd
from trainers.checkpoint import load_checkpoint
from trainers.clustering import instance_codes, kmeans

FACADES = get_label_set("facades")  # 1 background, 2 facade (stuff); 3 window, 4 door (things)
TINY = [
    "--format",
    "folder",
    "--labelset",
    "facades",
    "--size",
    "32",
    "--ndf",
    "8",
    "--n-downsample-global",
    "2",
    "--n-blocks-global",
    "1",
    "--n-blocks-local",
    "1",
    "--nef",
    "4",
    "--n-downsample-E",
    "2",
    "--instances-from-components",
    "--instance-feat",
    "--batch",
    "2",
    "--workers",
    "0",
    "--no-progress",
    "--no-tensorboard",
]
LOCAL = ["--netG", "local", "--ngf", "2"]  # its global part has ngf 4, like the global run


def train(data, out, *extra: str) -> None:
    assert pix2pixhd.main(["--data", str(data), "--out", str(out), *TINY, *extra]) == 0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return folder_dataset(tmp_path_factory.mktemp("data"), 8, size=(40, 48))


@pytest.fixture(scope="module")
def global_run(data, tmp_path_factory):
    """A global generator with instance features, trained 2 iterations and clustered (k 2)."""
    run = tmp_path_factory.mktemp("runs") / "global"
    train(data, run, "--ngf", "4", "--iters", "2")
    assert pix2pixhd.main(["cluster", str(run), "--k", "2"]) == 0
    return run


def test_components_of_thing_classes_become_numbered_instances():
    ids = np.array(
        [
            [2, 3, 3, 2, 4, 4],
            [2, 3, 3, 2, 2, 2],
            [2, 2, 2, 3, 2, 1],
            [3, 2, 2, 3, 2, 1],
            [2, 2, 2, 2, 4, 1],
        ],
        np.uint8,
    )
    expected = np.array(
        [
            [2, 3000, 3000, 2, 4000, 4000],
            [2, 3000, 3000, 2, 2, 2],
            [2, 2, 2, 3001, 2, 1],  # touches window 3000 only at a corner: another instance
            [3002, 2, 2, 3001, 2, 1],
            [2, 2, 2, 2, 4001, 1],
        ]
    )
    assert FACADES.by_id(3).has_instances and not FACADES.by_id(2).has_instances
    np.testing.assert_array_equal(pix2pixhd.component_instances(ids, FACADES), expected)


def test_components_on_a_real_facade_follow_the_official_id_convention():
    labels = read_label_image(require_shared(DATASETS / "facades" / "train" / "label" / "1.png"), FACADES)
    instances = pix2pixhd.component_instances(labels, FACADES)
    things = np.isin(labels, [c.id for c in FACADES.classes if c.has_instances])
    np.testing.assert_array_equal(instances[~things], labels[~things])
    np.testing.assert_array_equal(instances[things] // 1000, labels[things])
    assert len(np.unique(instances[labels == 3])) > 5  # a facade has many separate windows


def test_instance_codes_are_region_means_with_the_majority_class_and_area():
    features = torch.zeros(2, 4, 4)
    features[0, :, :2], features[1, :, :2] = 1.0, -1.0
    features[0, :, 2:] = torch.arange(8.0).view(4, 2)
    instances = torch.tensor([[5] * 2 + [7] * 2] * 4)
    labels = torch.tensor([[0, 0, 2, 2]] * 3 + [[1, 0, 2, 2]])
    channels, codes, areas = instance_codes(features, instances, labels, num_channels=3)
    torch.testing.assert_close(channels, torch.tensor([0, 2]))
    torch.testing.assert_close(codes, torch.tensor([[1.0, -1.0], [3.5, 0.0]]))
    torch.testing.assert_close(areas, torch.tensor([0.5, 0.5], dtype=torch.float64))


def test_kmeans_finds_separated_clusters_and_never_more_centres_than_points():
    rng = np.random.default_rng(0)
    means = np.array([[-5.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, -5.0, 5.0]])
    points = np.concatenate([m + rng.normal(0, 0.1, (20, 3)) for m in means])
    centres = kmeans(points, 3, seed=1)
    order = np.argsort(centres[:, 0] + 0.1 * centres[:, 1])
    np.testing.assert_allclose(
        centres[order], [points[i * 20 : i * 20 + 20].mean(0) for i in (0, 2, 1)], 1e-5
    )
    np.testing.assert_array_equal(kmeans(points, 3, seed=1), centres)  # deterministic
    assert kmeans(np.ones((4, 3)), 10).shape == (1, 3)
    assert kmeans(points[:2], 10).shape == (2, 3)


def test_global_run_exports_a_model_the_engine_synthesizes_with(global_run):
    card = read_card(global_run / "model")
    assert card.kind == "pix2pixhd" and card.native_size == (32, 32) and card.label_set["name"] == "facades"
    assert card.architecture["feat_num"] == 3 and card.architecture["use_instance_edges"]
    assert card.training["steps"] == 2 and card.training["gan_loss"] == "lsgan"
    assert json.loads((global_run / "run.json").read_text())["data"]["instances_from_components"]
    model = load_model(global_run / "model", device="cpu")
    assert model.has_feature_encoder and model.resolution == 32
    labels = np.full((40, 56), 2, np.int32)
    labels[8:30, 10:20] = 3
    instances = np.where(labels == 3, 3000, labels)
    photo = model.synthesize(labels, instances, seed=1)
    assert photo.shape == (40, 56, 3) and photo.std() > 1


def test_cluster_stores_a_bank_the_app_picks_looks_from(global_run, tmp_path):
    model = load_model(global_run / "model", device="cpu")
    windows = model.feature_choices(3)
    assert windows.shape in ((1, 3), (2, 3)) and np.abs(windows).max() <= 1  # means of tanh outputs
    assert set(model.feature_bank) <= set(FACADES.ids.tolist()) and len(model.feature_bank) > 2
    labels = np.full((32, 32), 2, np.int32)
    labels[4:28, 6:26] = 3
    instances = np.where(labels == 3, 3000, labels)
    chosen = model.synthesize(labels, instances, features={3000: windows[0]})
    other = model.synthesize(labels, instances, features={3000: -windows[0]})
    assert np.abs(chosen.astype(int) - other).max() > 0
    # python -m trainers.export keeps the bank of the run folder
    assert export.main([str(global_run), "-o", str(tmp_path / "again")]) == 0
    torch.testing.assert_close(
        read_weights(tmp_path / "again")["bank"], read_weights(global_run / "model")["bank"]
    )


def test_a_bank_clustered_from_an_older_checkpoint_is_not_exported(global_run, capsys):
    recipe = pix2pixhd.Pix2PixHDRecipe.from_dict(
        json.loads((global_run / "run.json").read_text())["recipe_config"]
    )
    assert (
        recipe.exported_tensors(global_run, 2)["bank"].keys()
        == read_weights(global_run / "model")["bank"].keys()
    )
    assert recipe.exported_tensors(global_run, 5) == {}
    assert "clustered at step 2, the checkpoint is at step 5" in capsys.readouterr().err


def test_local_run_starts_from_the_global_one_trains_only_the_enhancer_first_and_resumes_exactly(
    data, global_run, tmp_path
):
    """Step 0 trains only the enhancer (+ E), step 1 all of G; the run stopped after step 0 and
    resumed equals a run that never stopped."""
    schedule = [*LOCAL, "--init-global", str(global_run), "--niter-fix-global", "1", "--no-export"]
    train(data, tmp_path / "resumed", *schedule, "--iters", "1")
    state = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    trunk = {k: v for k, v in state["networks"]["G"].items() if k.startswith("model.")}
    global_g = load_checkpoint(global_run / "checkpoint.pt")["ema"]["G"]
    assert trunk and all(torch.equal(v, global_g[k]) for k, v in trunk.items())  # not trained yet
    assert not state["optimizers"]["G"]["state"] and state["optimizers"]["G_local"]["state"]

    assert pix2pixhd.main(["--out", str(tmp_path / "resumed"), "--resume", "--iters", "2"]) == 0
    train(data, tmp_path / "straight", *schedule, "--iters", "2")
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    assert_same_training_state(resumed, load_checkpoint(tmp_path / "straight" / "checkpoint.pt"))
    assert not torch.equal(resumed["networks"]["G"]["model.1.weight"], global_g["model.1.weight"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--niter-fix-global", "5"], "--niter-fix-global and --init-global need --netG local"),
        (["--size", "30"], "--size must be a multiple of 4 and at least 8"),
        ([*LOCAL[:-1], "4", "--init-global", "GLOBAL"], "has ngf 4, but this run's global part needs 8"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(data, global_run, tmp_path, capsys, options, message):
    options = [str(global_run) if o == "GLOBAL" else o for o in options]
    code = pix2pixhd.main(
        ["--data", str(data), "--out", str(tmp_path / "run"), *TINY, *options, "--iters", "1"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cluster_refuses_what_is_not_an_instance_feature_run(tmp_path, capsys):
    assert pix2pixhd.main(["cluster", str(tmp_path)]) == 2
    assert "is not a training run" in capsys.readouterr().err


def test_help_explains_every_option():
    for parser in (pix2pixhd.build_parser(), pix2pixhd.build_cluster_parser()):
        for action in parser._actions:
            assert action.help, action.option_strings
    text = pix2pixhd.build_parser().format_help()
    for option in ("--netG", "--instance-feat", "--init-global", "--niter-fix-global", "--vgg-weights"):
        assert option in text
