import json
import pickle

import pytest
import torch

from engine.checkpoints import load_checked, read_card, read_state_dict, read_weights
from engine.errors import CheckpointError
from engine.loader import load_model
from engine.models.spade import SPADEConfig, SPADEGenerator
from engine.official import import_official
from tests.conftest import load_fixture
from tests.factories import make_tiny_spade


def test_saved_model_round_trips_weights_and_card(tmp_path):
    folder = make_tiny_spade(tmp_path / "m", use_vae=True)
    card = read_card(folder)
    assert card.kind == "spade" and card.native_size == (256, 256)
    assert card.label_set["name"] == "facades"
    weights = read_weights(folder)
    assert set(weights) == {"G", "E"}
    model = load_model(folder, device="cpu", precision="fp32")
    for key, value in model.generator.state_dict().items():
        assert torch.equal(value, weights["G"][key]), key
    assert model.has_style_encoder


class RunsCode:
    def __reduce__(self):
        return (print, ("this pickle runs code",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "latest_net_G.pth"
    with open(path, "wb") as handle:
        pickle.dump({"fc.weight": RunsCode()}, handle)
    with pytest.raises(CheckpointError, match="refused to load latest_net_G.pth"):
        read_state_dict(path)


def test_missing_and_corrupt_checkpoints_say_which_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "nope.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="bad.pth"):
        read_state_dict(tmp_path / "bad.pth")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00\x01garbage")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        read_state_dict(tmp_path / "bad.safetensors")


def test_mismatch_names_the_first_wrong_key_and_shapes():
    small = SPADEGenerator(SPADEConfig(label_nc=5, ngf=2, norm_hidden=4))
    other = SPADEGenerator(SPADEConfig(label_nc=7, ngf=2, norm_hidden=4)).state_dict()
    with pytest.raises(
        CheckpointError, match=r"'fc.weight' has shape \(32, 7, 3, 3\).*expected \(32, 5, 3, 3\)"
    ):
        load_checked(small, other, "other.pth")
    partial = dict(small.state_dict())
    partial.pop("conv_img.bias")
    with pytest.raises(CheckpointError, match="'conv_img.bias' is missing"):
        load_checked(small, partial, "partial.pth")
    # fine-tuning may add a whole branch the file lacks, but never drop part of a layer it has
    with pytest.raises(CheckpointError, match="'conv_img.bias' is missing"):
        load_checked(small, partial, "partial.pth", new_parts_ok=True)


def test_a_branch_the_file_lacks_keeps_fresh_weights_when_new_parts_are_allowed():
    from engine.colorization import GLOBAL_HINT_SIZE
    from engine.models.colorize import ColorizationConfig, SIGGRAPHGenerator

    plain = SIGGRAPHGenerator(ColorizationConfig(width=4))
    extended = SIGGRAPHGenerator(ColorizationConfig(width=4, global_hint_channels=GLOBAL_HINT_SIZE))
    fresh = {k: v.clone() for k, v in extended.state_dict().items() if k.startswith("global_hints.")}
    with pytest.raises(CheckpointError, match="'global_hints.* is missing"):
        load_checked(extended, plain.state_dict(), "plain")
    assert load_checked(extended, plain.state_dict(), "plain", new_parts_ok=True) == ["global_hints"]
    for key, value in extended.state_dict().items():
        expected = fresh[key] if key.startswith("global_hints.") else plain.state_dict()[key]
        assert torch.equal(value, expected), key


def test_import_official_converts_a_release_and_rejects_another_label_set(tmp_path):
    _, weights, _ = load_fixture("spade_small")
    # the fixture is a tiny COCO-layout model; pad fc/mlp channels up to COCO's 184 inputs
    pth = tmp_path / "latest_net_G.pth"
    torch.save(weights["G"], pth)
    with pytest.raises(CheckpointError, match="'fc.weight' has shape .*label set"):
        import_official("spade", pth, "coco", tmp_path / "out")
    # a full COCO-shaped release imports and loads
    config = SPADEConfig(label_nc=182, contain_dontcare=True, use_instance_edges=True, ngf=1, norm_hidden=128)
    release = SPADEGenerator(config).state_dict()
    spectral = {}
    for key, value in release.items():
        layer = key.rsplit(".", 1)[0]
        if key.endswith(".weight") and layer.split(".")[-1] in ("conv_0", "conv_1", "conv_s"):
            spectral[layer + ".weight_orig"] = value * 2
            spectral[layer + ".weight_u"] = torch.ones(value.shape[0]) / value.shape[0] ** 0.5
            spectral[layer + ".weight_v"] = torch.ones(value[0].numel()) / value[0].numel() ** 0.5
        else:
            spectral[key] = value
    torch.save(spectral, pth)
    folder = import_official("spade", pth, "coco", tmp_path / "coco")
    card = json.loads((folder / "model.json").read_text())
    assert card["architecture"]["label_nc"] == 182 and card["native_size"] == [256, 256]
    model = load_model(folder, device="cpu")
    assert model.label_set.name == "coco"
    assert model.config.ngf == 1


def test_card_that_does_not_fit_its_label_set_is_rejected(tmp_path):
    folder = make_tiny_spade(tmp_path / "m", label_set="facades")
    card = json.loads((folder / "model.json").read_text())
    coco = make_tiny_spade(tmp_path / "coco", label_set="coco")
    card["label_set"] = json.loads((coco / "model.json").read_text())["label_set"]
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="does not fit its label set 'coco'"):
        load_model(folder, device="cpu")


def test_lightning_checkpoint_loads_its_weights_without_running_its_objects(tmp_path, monkeypatch):
    """Released training checkpoints (LaMa's best.ckpt) carry framework objects beside the weights."""
    import sys
    import types

    module = types.ModuleType("pytorch_lightning.callbacks")

    class ModelCheckpoint:
        def __init__(self):
            self.best = 0.5

    ModelCheckpoint.__module__, ModelCheckpoint.__qualname__ = module.__name__, "ModelCheckpoint"
    module.ModelCheckpoint = ModelCheckpoint
    monkeypatch.setitem(sys.modules, "pytorch_lightning", types.ModuleType("pytorch_lightning"))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    weights = {"generator.model.1.weight": torch.randn(2, 3)}
    torch.save(
        {"state_dict": weights, "callbacks": {"cb": ModelCheckpoint()}, "epoch": 3}, tmp_path / "b.ckpt"
    )
    for name in ("pytorch_lightning", module.__name__):  # the reader has no Lightning installed
        monkeypatch.delitem(sys.modules, name)
    loaded = read_state_dict(tmp_path / "b.ckpt")
    assert list(loaded) == ["generator.model.1.weight"]
    assert torch.equal(loaded["generator.model.1.weight"], weights["generator.model.1.weight"])
