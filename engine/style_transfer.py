"""Colour/tone transfer in Lab space: the style fallback for models without a style encoder.

The official SPADE releases ship no encoder, so a style image cannot steer the network itself;
instead the output's Lab statistics (per-channel mean and spread) are matched to the style image's
(Reinhard et al., 2001). Tone and palette follow the style; structure and textures do not.
"""

from __future__ import annotations

import cv2
import numpy as np

FALLBACK_DESCRIPTION = "colour and tone transfer in Lab space (the model has no style encoder)"


def lab_statistics(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of an RGB uint8 image in Lab (float32 OpenCV Lab)."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    return lab.mean(axis=0), lab.std(axis=0)


STATISTICS_SIZE = 6  # Lab mean (3) + Lab standard deviation (3): the fallback's "style code"


def style_statistics(image: np.ndarray) -> np.ndarray:
    """The fallback's style code of an RGB uint8 image: Lab means then spreads, float32 (6,)."""
    mean, std = lab_statistics(image)
    return np.concatenate([mean, std]).astype(np.float32)


def transfer_colors(content: np.ndarray, style: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """``content`` with the Lab mean/spread of ``style`` (both RGB uint8); ``strength`` blends 0..1.

    ``style`` may also be a code from ``style_statistics`` (e.g. a blend of two codes).
    """
    code = style_statistics(style) if style.ndim == 3 else style
    mean_s, std_s = code[:3], code[3:]
    lab = cv2.cvtColor(content.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    mean_c, std_c = lab.reshape(-1, 3).mean(axis=0), lab.reshape(-1, 3).std(axis=0)
    moved = (lab - mean_c) * (std_s / np.maximum(std_c, 1e-3)) + mean_s
    lab = lab + strength * (moved - lab)
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
