"""Sketches drawn from photos: the training sketches of sketch-to-photo models (any photo folder
becomes training pairs) and the app's Trace Photo, which draws a photo the way its model learned.

The result is what the app's Sketch tab draws: a grey uint8 image, black (0) lines on white (255
paper), the size of the photo. Two line finders, both through OpenCV:

* Canny (1986): thin lines on intensity edges; thresholds from the image's median grey by default,
  so one setting works on dark and bright photos alike.
* XDoG (Winnemöller et al. 2012): a difference of Gaussians close to a Laplacian of Gaussian,
  thresholded with a steep ramp, which looks more like pen strokes (lines on the dark side of edges,
  thicker where the contrast is strong). An edge-preserving (bilateral) blur first keeps fur, grass
  and JPEG noise from turning into hatching.

Both leave specks on texture; ``remove_specks`` drops lines of fewer than a few pixels, which a
person would not draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

INK = 0
PAPER = 255


def grey(image: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) or grey (H, W) -> grey uint8 (ITU-R 601 luma, as PIL's convert("L"))."""
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(
            f"expected a uint8 RGB (H, W, 3) or grey (H, W) image, got {image.dtype} {image.shape}"
        )
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def thicken(sketch: np.ndarray, width: int) -> np.ndarray:
    """Lines of a black-on-white sketch grown to about ``width`` pixels (a grey-level erosion of the
    paper with a ``width`` x ``width`` disc); ``width`` 1 leaves the sketch as it is."""
    if width < 1:
        raise ValueError(f"a line width must be at least 1 pixel, got {width}")
    if width == 1:
        return sketch
    return cv2.erode(sketch, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))


def remove_specks(sketch: np.ndarray, min_pixels: int) -> np.ndarray:
    """Lines (8-connected ink pixels, darker than mid-grey) of fewer than ``min_pixels`` pixels erased."""
    if min_pixels <= 1:
        return sketch
    count, components, stats, _ = cv2.connectedComponentsWithStats(
        (sketch < 128).astype(np.uint8), connectivity=8
    )
    small = stats[:, cv2.CC_STAT_AREA] < min_pixels
    small[0] = False  # the paper
    out = sketch.copy()
    out[small[components]] = PAPER
    return out


def canny_sketch(
    image: np.ndarray, low: float | None = None, high: float | None = None, blur: float = 1.0
) -> np.ndarray:
    """Canny edges of ``image`` as black 1-pixel lines on white, after a Gaussian blur of ``blur``
    (sigma, pixels; 0 = none). Default thresholds: 0.66 and 1.33 times the median grey, which
    adapts them to the photo's exposure."""
    g = grey(image)
    if blur > 0:
        g = cv2.GaussianBlur(g, (0, 0), blur)
    median = float(np.median(g))
    low = max(0.0, 0.66 * median) if low is None else low
    high = min(255.0, 1.33 * median) if high is None else high
    edges = cv2.Canny(g, low, high, L2gradient=True)
    return np.where(edges > 0, INK, PAPER).astype(np.uint8)


def xdog_sketch(
    image: np.ndarray,
    sigma: float = 1.0,
    k: float = 1.6,
    tau: float = 0.98,
    epsilon: float = -0.01,
    phi: float = 200.0,
    smooth: bool = True,
) -> np.ndarray:
    """XDoG lines of ``image``: D = G_sigma - tau * G_(k sigma) on grey in [0, 1], then white where
    D >= epsilon and 1 + tanh(phi (D - epsilon)) below (a steep ramp: nearly binary lines, grey
    at their anti-aliased borders). ``tau`` just below 1 keeps flat areas white whatever their tone.
    ``smooth``: a bilateral filter (9 px, colour sigma 60, space sigma 7) before, against texture."""
    g = grey(image)
    if smooth:
        g = cv2.bilateralFilter(g, 9, 60, 7)
    g = g.astype(np.float32) / 255
    fine = cv2.GaussianBlur(g, (0, 0), sigma)
    coarse = cv2.GaussianBlur(g, (0, 0), k * sigma)
    d = fine - tau * coarse
    tone = np.where(d >= epsilon, 1.0, 1.0 + np.tanh(phi * (d - epsilon)))
    return np.clip(np.rint(tone * PAPER), 0, 255).astype(np.uint8)


EDGE_DETECTORS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"canny": canny_sketch, "xdog": xdog_sketch}


@dataclass(frozen=True)
class SketchStyle:
    """How sketches are drawn from photos: the line finder (``EDGE_DETECTORS``), the smallest line
    kept (pixels) and the line width."""

    detector: str = "xdog"
    line_width: int = 1
    min_pixels: int = 16

    def __post_init__(self) -> None:
        if self.detector not in EDGE_DETECTORS:
            raise ValueError(
                f"unknown edge detector '{self.detector}' (use one of {', '.join(EDGE_DETECTORS)})"
            )
        if self.line_width < 1:
            raise ValueError(f"a line width must be at least 1 pixel, got {self.line_width}")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """The sketch of a uint8 RGB or grey photo: grey uint8 (H, W), black lines on white."""
        lines = remove_specks(EDGE_DETECTORS[self.detector](image), self.min_pixels)
        return thicken(lines, self.line_width)
