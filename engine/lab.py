"""sRGB <-> CIE Lab (D65, 2 degree observer) in numpy, with scikit-image's constants and rules.

The colorization networks were trained on scikit-image's ``rgb2lab``; OpenCV's Lab differs by up
to a few units, so this module reproduces skimage's numbers (float64) without depending on it.
"""

from __future__ import annotations

import numpy as np

XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])
LINEAR_THRESHOLD = 0.04045  # sRGB companding: linear segment below this encoded value
LAB_EPSILON = 0.008856  # CIE: cube root above this, linear segment below
LAB_KAPPA = 7.787


def _as_unit_rgb(rgb: np.ndarray) -> np.ndarray:
    """uint8 -> [0, 1] float64 (as skimage's img_as_float); floats are taken as already in [0, 1]."""
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"expected colours in the last axis (..., 3), got shape {rgb.shape}")
    if rgb.dtype == np.uint8:
        return rgb / 255.0
    return rgb.astype(np.float64)


def _linearize(rgb: np.ndarray) -> np.ndarray:
    """Undo the sRGB companding."""
    unit = _as_unit_rgb(rgb)
    return np.where(unit > LINEAR_THRESHOLD, ((unit + 0.055) / 1.055) ** 2.4, unit / 12.92)


def rgb2lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3), uint8 or float in [0, 1] -> Lab float64 (L in [0, 100], a/b roughly +-110)."""
    linear = _linearize(rgb)
    xyz = linear @ XYZ_FROM_RGB.T / D65_WHITE
    f = np.where(xyz > LAB_EPSILON, np.cbrt(xyz), LAB_KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def rgb2lightness(rgb: np.ndarray) -> np.ndarray:
    """L of ``rgb2lab`` alone (float64, [0, 100]): a third of the work for a grey photo's lightness."""
    linear = _linearize(rgb)
    y = linear @ XYZ_FROM_RGB[1] / D65_WHITE[1]
    return 116.0 * np.where(y > LAB_EPSILON, np.cbrt(y), LAB_KAPPA * y + 16.0 / 116.0) - 16.0


def lab2rgb(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB float64 in [0, 1]; out-of-gamut colours are clipped, as skimage does."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = lab[..., 1] / 500.0 + fy
    fz = np.maximum(fy - lab[..., 2] / 200.0, 0.0)  # skimage clips negative Z before inverting
    f = np.stack([fx, fy, fz], axis=-1)
    xyz = np.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / LAB_KAPPA) * D65_WHITE
    linear = xyz @ RGB_FROM_XYZ.T
    positive = np.maximum(linear, 0.0031308)  # keeps the power defined; the other branch is used there
    rgb = np.where(linear > 0.0031308, 1.055 * positive ** (1 / 2.4) - 0.055, 12.92 * linear)
    return np.clip(rgb, 0.0, 1.0)


def lab_to_uint8(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB uint8, rounded to the nearest level."""
    return np.rint(lab2rgb(lab) * 255).astype(np.uint8)
