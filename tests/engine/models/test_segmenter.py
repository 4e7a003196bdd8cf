"""The FCN-score's U-Net segmenter and its runtime: any input size, the model folder format, and the
checks that keep a wrong folder from being used as a segmenter."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.checkpoints import ModelCard, save_model
from engine.errors import CheckpointError, InputImageError
from engine.labels import get_label_set
from engine.models.segmenter import SegmenterConfig, UNetSegmenter, load_segmenter
from tests.factories import make_tiny_spade


def make_segmenter(folder, label_set="facades", size=(32, 32), num_classes=None, seed=0):
    """A random-weight segmenter model folder."""
    torch.manual_seed(seed)
    labels = get_label_set(label_set)
    config = SegmenterConfig(num_classes or labels.label_nc, width=4, depth=2)
    card = ModelCard("seg", "segmenter", config.to_dict(), labels.to_dict(), size)
    save_model(folder, card, {"S": UNetSegmenter(config)})
    return folder


def test_widths_double_per_level_up_to_eight_times_the_width():
    assert SegmenterConfig(3, width=4, depth=5).widths == (4, 8, 16, 32, 32, 32)
    config = SegmenterConfig(3, width=4, depth=2)
    assert SegmenterConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="depth must be at least 1"):
        SegmenterConfig(3, depth=0)


def test_logits_of_any_size_are_those_of_the_edge_padded_input_cropped():
    torch.manual_seed(0)
    net = UNetSegmenter(SegmenterConfig(5, width=4, depth=3)).eval()
    x = torch.rand(2, 3, 37, 50) * 2 - 1
    with torch.no_grad():
        logits = net(x)
        padded = net(F.pad(x, (0, 6, 0, 3), mode="replicate"))  # to 40x56, multiples of 8
    assert logits.shape == (2, 5, 37, 50)
    torch.testing.assert_close(logits, padded[..., :37, :50], atol=1e-5, rtol=0)


def test_runtime_segments_any_photo_size_into_label_ids(tmp_path):
    model = load_segmenter(make_segmenter(tmp_path / "seg"), device="cpu", precision="fp32")
    facades = get_label_set("facades")
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    ids = model.segment(photo)
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        expected = facades.from_channels(model.network(x).argmax(1)[0].numpy())
    assert ids.dtype == np.int32 and np.array_equal(ids, expected)  # native size: the network's argmax

    wide = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)  # resized to 32x53, scores back to 48x80
    ids = model.segment(wide)
    assert ids.shape == (48, 80) and set(np.unique(ids)) <= set(facades.ids.tolist())
    assert len(np.unique(ids)) > 1


def test_a_dontcare_class_is_never_predicted(tmp_path):
    model = load_segmenter(make_segmenter(tmp_path / "seg", "coco"), device="cpu", precision="fp32")
    assert model.network.config.num_classes == 182
    ids = model.segment(np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    assert 255 not in ids and set(np.unique(ids)) <= set(model.label_set.ids.tolist())


def test_wrong_folders_and_photos_are_refused_in_one_sentence(tmp_path):
    with pytest.raises(CheckpointError, match="holds a 'spade' model, not a segmenter"):
        load_segmenter(make_tiny_spade(tmp_path / "spade"), device="cpu")
    with pytest.raises(CheckpointError, match="has 3 outputs, which does not fit its label set 'facades'"):
        load_segmenter(make_segmenter(tmp_path / "three", num_classes=3), device="cpu")
    model = load_segmenter(make_segmenter(tmp_path / "seg"), device="cpu")
    with pytest.raises(InputImageError, match="expected an RGB uint8 image"):
        model.segment(np.zeros((16, 16), np.uint8))
