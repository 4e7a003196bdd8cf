"""Image-quality metrics on uint8 RGB images, optionally restricted to a region (e.g. an inpainted hole).

PSNR and L1 are computed on the 0..255 scale; SSIM (Wang et al. 2004) uses an 11x11 Gaussian window
(sigma 1.5) on each channel, constants for a dynamic range of 255, and averages the SSIM map over
the region.
"""

from __future__ import annotations

import cv2
import numpy as np

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2


def _region(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if mask is None:
        return a.astype(np.float64), b.astype(np.float64)
    mask = np.asarray(mask, bool)
    if not mask.any():
        raise ValueError("the region is empty")
    return a[mask].astype(np.float64), b[mask].astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    x, y = _region(a, b, mask)
    mse = np.mean((x - y) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute difference on the 0..255 scale."""
    x, y = _region(a, b, mask)
    return float(np.mean(np.abs(x - y)))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (H, W), averaged over the channels."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]

    def blur(image: np.ndarray) -> np.ndarray:
        out = cv2.GaussianBlur(image, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)
        return out.reshape(image.shape)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / ((mu_x**2 + mu_y**2 + C1) * (var_x + var_y + C2))
    return ssim.mean(axis=2)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM over the image, or over ``mask``."""
    values = ssim_map(a, b)
    if mask is None:
        return float(values.mean())
    mask = np.asarray(mask, bool)
    if not mask.any():
        raise ValueError("the region is empty")
    return float(values[mask].mean())


def line_f1(drawn: np.ndarray, reference: np.ndarray, tolerance: int = 2) -> float:
    """How well the lines of one sketch follow another's (black lines on white, grey or RGB uint8):
    the F1 of line pixels lying within ``tolerance`` px of a line of the other sketch (precision over
    ``drawn``, recall over ``reference``). 1: the same lines; 0: none in common, or no lines."""
    a, b = _ink(drawn), _ink(reference)
    if a.shape != b.shape:
        raise ValueError(f"sketches differ in size: {a.shape} vs {b.shape}")
    if not a.any() or not b.any():
        return 0.0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    near_a, near_b = (cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in (a, b))
    precision, recall = (a & near_b).sum() / a.sum(), (b & near_a).sum() / b.sum()
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def _ink(sketch: np.ndarray) -> np.ndarray:
    """Line pixels of a black-on-white sketch, grey (H, W) or RGB (H, W, 3): darker than mid-grey."""
    sketch = np.asarray(sketch)
    return (sketch.mean(axis=2) if sketch.ndim == 3 else sketch) < 128
