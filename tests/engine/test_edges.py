"""Sketches drawn from photos (engine.edges): black lines on white where the photo has edges."""

import cv2
import numpy as np
import pytest

from engine.edges import EDGE_DETECTORS, SketchStyle, canny_sketch, remove_specks, thicken, xdog_sketch

SIZE = (64, 80)
TOP, LEFT, BOTTOM, RIGHT = 16, 20, 48, 60  # the square's rows TOP..BOTTOM-1, columns LEFT..RIGHT-1


def square_photo(inside: tuple[int, int, int], outside: tuple[int, int, int]) -> np.ndarray:
    photo = np.empty((*SIZE, 3), np.uint8)
    photo[:] = outside
    photo[TOP:BOTTOM, LEFT:RIGHT] = inside
    return photo


def distance_to_outline() -> np.ndarray:
    """Per pixel, the distance (pixels) to the square's outline: the pixels on either side of it."""
    square = np.zeros(SIZE, np.uint8)
    square[TOP:BOTTOM, LEFT:RIGHT] = 1
    kernel = np.ones((3, 3), np.uint8)
    outline = cv2.dilate(square, kernel) != cv2.erode(square, kernel)
    return cv2.distanceTransform((~outline).astype(np.uint8), cv2.DIST_L2, 3)


@pytest.mark.parametrize("detector", sorted(EDGE_DETECTORS))
@pytest.mark.parametrize(
    ("inside", "outside"), [((30, 40, 50), (220, 210, 200)), ((240, 240, 240), (70, 20, 20))]
)
def test_lines_lie_along_the_edges_of_a_square(detector, inside, outside):
    photo = square_photo(inside, outside)
    for image in (photo, photo[..., 1].copy()):  # RGB or grey in
        sketch = EDGE_DETECTORS[detector](image)
        assert sketch.dtype == np.uint8 and sketch.shape == SIZE
        ink, distance = sketch < 128, distance_to_outline()
        assert (sketch[ink] < 60).mean() > 0.8  # lines are (nearly) black
        # every mark hugs the outline (XDoG draws up to 3 pixels on the dark side), white paper elsewhere...
        assert distance[ink].max() <= 3 and (sketch[distance > 3] == 255).all()
        # ...and each side of the square is drawn along at least 80 % of its length (corners aside)
        near = np.abs(np.arange(SIZE[1]) - LEFT) <= 2, np.abs(np.arange(SIZE[1]) - (RIGHT - 1)) <= 2
        for side in near:
            assert ink[TOP + 2 : BOTTOM - 2][:, side].any(1).mean() >= 0.8
        rows = np.abs(np.arange(SIZE[0]) - TOP) <= 2, np.abs(np.arange(SIZE[0]) - (BOTTOM - 1)) <= 2
        for side in rows:
            assert ink[side][:, LEFT + 2 : RIGHT - 2].any(0).mean() >= 0.8


@pytest.mark.parametrize("tone", [0, 60, 255])
def test_flat_photos_of_any_tone_give_blank_paper(tone):
    flat = np.full((*SIZE, 3), tone, np.uint8)
    for detector in EDGE_DETECTORS.values():
        assert (detector(flat) == 255).all()


def test_canny_thresholds_can_be_set():
    photo = square_photo((100, 100, 100), (120, 120, 120))  # a faint square: contrast 20
    assert (canny_sketch(photo, low=5, high=10) == 0).any()
    assert (canny_sketch(photo, low=200, high=250) == 255).all()


def test_xdog_epsilon_sets_how_strong_an_edge_must_be_to_be_drawn():
    photo = square_photo((100, 100, 100), (200, 200, 200))
    ink = [(xdog_sketch(photo, epsilon=e) < 128).sum() for e in (-0.001, -0.01, -0.05)]
    assert ink[0] > ink[1] > 0 and ink[2] == 0


def test_thicken_grows_lines_to_the_width():
    sketch = np.full((21, 21), 255, np.uint8)
    sketch[:, 10] = 0
    assert thicken(sketch, 1) is sketch
    wide = thicken(sketch, 5)
    assert (wide[:, 8:13] == 0).all() and (wide[:, :8] == 255).all() and (wide[:, 13:] == 255).all()
    with pytest.raises(ValueError, match="at least 1 pixel"):
        thicken(sketch, 0)


def test_remove_specks_keeps_lines_and_drops_dots():
    sketch = np.full((20, 20), 255, np.uint8)
    sketch[2, 2:18] = 0  # a 16-pixel line
    sketch[10:12, 10:12] = 0  # a 4-pixel dot
    sketch[15, 15] = 200  # light grey: paper, not ink
    cleaned = remove_specks(sketch, 5)
    assert (cleaned[2, 2:18] == 0).all() and (cleaned[10:12, 10:12] == 255).all() and cleaned[15, 15] == 200
    assert remove_specks(sketch, 17)[2, 2] == 255
    assert remove_specks(sketch, 1) is sketch


def test_sketch_style_draws_cleans_and_widens():
    photo = square_photo((30, 40, 50), (220, 210, 200))
    photo[3:6, 3:6] = 0  # a dark dot: its outline is a speck
    thin = SketchStyle("canny", line_width=1, min_pixels=1)(photo)
    clean = SketchStyle("canny", line_width=1, min_pixels=16)(photo)
    wide = SketchStyle("canny", line_width=3, min_pixels=16)(photo)
    assert (thin[:8, :8] == 0).any() and (clean[:8, :8] == 255).all()
    assert (wide == 0).sum() > 2 * (clean == 0).sum()
    with pytest.raises(ValueError, match="unknown edge detector 'hed'"):
        SketchStyle("hed")
