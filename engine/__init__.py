"""synthpaint's inference engine: label sets, networks, checkpoints and loaded models. Never imports Qt."""

from engine.errors import SynthpaintError
from engine.labels import LabelSet, get_label_set
from engine.loader import load_model
from engine.session import SynthesisModel

__all__ = ["LabelSet", "SynthesisModel", "SynthpaintError", "get_label_set", "load_model"]
