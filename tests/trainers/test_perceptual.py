"""The VGG loss loads a user's torchvision-layout file and compares activations."""

import pytest
import torch

from engine.errors import CheckpointError
from trainers.perceptual import VGGPerceptualLoss, vgg19_features


def write_vgg(path, drop: str | None = None):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in vgg19_features().state_dict().items()}
    state["features.30.weight"] = torch.zeros(1)  # later layers and the classifier are ignored
    state["classifier.0.weight"] = torch.zeros(2, 2)
    if drop:
        del state[drop]
    torch.save(state, path)
    return path


def test_vgg_loss_is_zero_for_equal_images_and_moves_only_the_fake(tmp_path):
    loss = VGGPerceptualLoss(write_vgg(tmp_path / "vgg19.pth"))
    real = torch.rand(1, 3, 32, 32) * 2 - 1
    fake = (real + 0.3 * torch.randn_like(real)).requires_grad_()
    assert loss(real, real).item() == 0
    value = loss(fake, real)
    assert value.item() > 0
    value.backward()
    assert fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())


def test_an_incomplete_weights_file_is_refused_naming_it(tmp_path):
    with pytest.raises(
        CheckpointError, match=r"vgg19\.pth does not fit this network: key '28.weight' is missing"
    ):
        VGGPerceptualLoss(write_vgg(tmp_path / "vgg19.pth", drop="features.28.weight"))
