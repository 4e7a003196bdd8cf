"""PatchGAN and OASIS discriminators: shapes, features, the shared condition term, and the receptive
fields of pix2pix's D."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainers.discriminators import (
    MultiscaleDiscriminator,
    OASISDiscriminator,
    PatchDiscriminator,
    conditional_discriminator,
    downsample,
)


def test_split_first_layer_equals_one_conv_over_photo_and_condition():
    torch.manual_seed(0)
    d = PatchDiscriminator(3, 5, ndf=8, n_layers=3)
    fake, real = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    condition = F.one_hot(torch.randint(0, 5, (2, 32, 32)), 5).permute(0, 3, 1, 2).float()
    features = d(torch.cat([fake, real]), condition)
    weight = torch.cat([d.image_conv.weight, d.condition_conv.weight], dim=1)
    for k, photos in enumerate((fake, real)):
        expected = F.leaky_relu(
            F.conv2d(torch.cat([photos, condition], 1), weight, d.image_conv.bias, 2, 2), 0.2
        )
        torch.testing.assert_close(features[0][2 * k : 2 * k + 2], expected, atol=1e-5, rtol=0)
        alone = d(photos, condition)
        torch.testing.assert_close(features[-1][2 * k : 2 * k + 2], alone[-1], atol=1e-5, rtol=0)


def test_patch_discriminator_layout_and_spectral_norm():
    d = PatchDiscriminator(3, 4, ndf=8, n_layers=4)
    features = d(torch.randn(1, 3, 64, 64), torch.zeros(1, 4, 64, 64))
    assert [f.shape[1] for f in features] == [8, 16, 32, 64, 1]
    assert [f.shape[-1] for f in features] == [33, 17, 9, 10, 11]  # stride 2, 2, 2, 1, 1 with padding 2
    assert "blocks.0.0.weight_orig" in d.state_dict()
    with pytest.raises(ValueError, match="conditional"):
        d(torch.randn(1, 3, 64, 64))


def test_multiscale_runs_each_scale_on_the_downsampled_input():
    torch.manual_seed(1)
    d = MultiscaleDiscriminator(3, 2, num_d=3, ndf=4, n_layers=2)
    images, condition = torch.randn(2, 3, 32, 32), torch.rand(2, 2, 32, 32)
    outputs = d(images, condition)
    assert len(outputs) == 3 and all(len(o) == 3 for o in outputs)
    torch.testing.assert_close(outputs[1][-1], d.scales[1](downsample(images), downsample(condition))[-1])
    assert outputs[0][-1].shape[-1] > outputs[1][-1].shape[-1] > outputs[2][-1].shape[-1]


def test_oasis_discriminator_segments_into_n_plus_one_classes():
    d = OASISDiscriminator(num_classes=7, ndf=4, image_size=64)
    assert len(d.encoder) == 4 and d.size_multiple == 16
    images = torch.randn(2, 3, 64, 48, requires_grad=True)
    logits = d(images)
    assert logits.shape == (2, 8, 64, 48)
    logits.mean().backward()
    assert images.grad.abs().sum() > 0 and all(p.grad is not None for p in d.parameters())
    assert len(OASISDiscriminator(5, ndf=4, image_size=256).encoder) == 6
    with pytest.raises(ValueError, match="multiples of 16"):
        d(torch.randn(1, 3, 40, 40))


@pytest.mark.parametrize(("receptive", "size"), [(1, 16), (16, 48), (70, 112), (286, 320)])
def test_discriminator_sees_patches_of_the_chosen_size(receptive, size):
    """The support of the gradient of one central logit w.r.t. the photo and the sketch (running
    statistics: batch statistics would couple every pixel)."""
    torch.manual_seed(0)
    discriminator = conditional_discriminator(receptive, 3, 1, ndf=2).eval()
    photo = torch.randn(1, 3, size, size, requires_grad=True)
    sketch = torch.randn(1, 1, size, size, requires_grad=True)
    logits = discriminator(photo, sketch)[-1]
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    for grad in (photo.grad, sketch.grad):
        rows, cols = np.nonzero(grad[0].abs().sum(0).numpy())
        assert rows.max() - rows.min() + 1 == cols.max() - cols.min() + 1 == receptive
