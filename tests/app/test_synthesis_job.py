"""The label -> photo job: style resolution, pix2pixHD codes, and the quick preview on slow hardware."""

import numpy as np

from app.synthesis_job import PREVIEW_ABOVE_MS, StyleChoice, SynthesisState, synthesis_job


class RecordingModel:
    """Records the resolution and arguments of every call; encodes a style as its mean colour."""

    kind = "spade"
    native_size = (256, 256)

    def __init__(self):
        self.resolution = 256
        self.calls = []
        self.encoded = 0

    def encode_style(self, image):
        self.encoded += 1
        return image.reshape(-1, 3).mean(axis=0)

    def synthesize(self, labels, instances=None, style=None, seed=None, features=None):
        self.calls.append({"resolution": self.resolution, "style": style, "seed": seed, "features": features})
        return np.zeros((*labels.shape, 3), np.uint8)


def test_a_blend_of_two_styles_is_the_blend_of_their_codes_encoded_once_each():
    model, state = RecordingModel(), SynthesisState()
    red, blue = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)
    red[..., 0], blue[..., 2] = 200, 100
    choice = StyleChoice(image=red, blend_with=blue, blend=0.25)
    for _ in range(3):
        list(synthesis_job(state, np.ones((8, 8), np.int32), style=choice)(model))
    assert np.allclose(model.calls[-1]["style"], [150, 0, 25])
    assert model.encoded == 2  # cached per image


def test_a_seed_without_image_reaches_the_model_and_the_labels_are_a_snapshot():
    model, state = RecordingModel(), SynthesisState()
    labels = np.ones((8, 8), np.int32)
    job = synthesis_job(state, labels, style=StyleChoice(seed=42))
    labels[:] = 5  # painting on after the request must not change what is rendered
    list(job(model))
    assert model.calls[-1]["seed"] == 42 and model.calls[-1]["style"] is None


def test_slow_models_first_render_a_half_resolution_preview_then_the_full_one():
    model, state = RecordingModel(), SynthesisState()
    assert len(list(synthesis_job(state, np.ones((8, 8), np.int32))(model))) == 1  # fast: no preview
    state.full_ms = PREVIEW_ABOVE_MS + 1
    images = list(synthesis_job(state, np.ones((8, 8), np.int32))(model))
    assert len(images) == 2
    assert [c["resolution"] for c in model.calls[-2:]] == [128, 256]
    assert model.resolution == 256  # restored


def test_pix2pixhd_models_get_instances_codes_and_the_seed():
    model, state = RecordingModel(), SynthesisState()
    model.kind = "pix2pixhd"
    codes = {3001: np.array([0.1, 0.2, 0.3])}
    job = synthesis_job(state, np.ones((8, 8), np.int32), style=StyleChoice(seed=7), features=codes)
    list(job(model))
    assert model.calls[-1]["seed"] == 7 and set(model.calls[-1]["features"]) == {3001}
