import numpy as np

from app import raster


def paint(mask_origin, shape=(20, 20)):
    mask, (y, x) = mask_origin
    canvas = np.zeros(shape, bool)
    for (my, mx), value in np.ndenumerate(mask):
        if value and 0 <= y + my < shape[0] and 0 <= x + mx < shape[1]:
            canvas[y + my, x + mx] = True
    return canvas


def test_single_pixel_brush_dab_sets_exactly_that_pixel():
    canvas = paint(raster.stroke_mask((5.7, 3.2), (5.7, 3.2), 1))
    assert canvas.sum() == 1 and canvas[3, 5]


def test_round_dab_is_symmetric_and_about_the_brush_area():
    canvas = paint(raster.stroke_mask((10.5, 10.5), (10.5, 10.5), 7))
    assert canvas[10, 10] and canvas[10, 13] and canvas[13, 10] and not canvas[10, 15]
    around = canvas[7:14, 7:14]
    assert np.array_equal(around, around[::-1, ::-1]) and np.array_equal(around, around.T)
    assert canvas.sum() == around.sum()
    assert 25 <= canvas.sum() <= 49


def test_rectangle_is_inclusive_and_ellipse_fits_inside():
    rect = paint(raster.rect_mask((2, 3), (6, 5)))
    assert rect.sum() == 5 * 3 and rect[3:6, 2:7].all()
    ellipse = paint(raster.ellipse_mask((2, 3), (12, 9)))
    assert (
        ellipse[6, 7]
        and not ellipse[3, 2]
        and (ellipse & ~paint(raster.rect_mask((2, 3), (12, 9)))).sum() == 0
    )


def test_fill_stops_at_other_ids_and_ignores_diagonals():
    labels = np.array([[1, 1, 2], [1, 2, 1], [2, 1, 1]])
    mask, origin = raster.fill_mask(labels, 0, 0)
    assert origin == (0, 0)
    assert mask.tolist() == [[True, True, False], [True, False, False], [False, False, False]]


def test_polygon_covers_its_inside():
    canvas = paint(raster.polygon_mask([(2, 2), (15, 2), (15, 15), (2, 15)]))
    assert canvas[8, 8] and canvas[2, 2] and canvas[15, 15] and not canvas[16, 8]


def test_soft_stroke_is_the_hard_stroke_at_full_hardness_and_fades_to_its_rim_below():
    hard, origin = raster.stroke_mask((20.5, 20.5), (30.5, 24.5), 11)
    full, full_origin = raster.soft_stroke((20.5, 20.5), (30.5, 24.5), 11, 1.0)
    assert full_origin == origin and np.array_equal(full, hard.astype(np.uint8) * 255)
    soft, _ = raster.soft_stroke((20.5, 20.5), (20.5, 20.5), 11, 0.4)
    centre = soft.shape[0] // 2
    assert soft[centre, centre] == 255
    row = soft[centre, centre:]  # from the centre outwards: 255, then falling, 0 beyond the radius
    assert (np.diff(row.astype(int)) <= 0).all() and 0 < row[4] < 255 and row[-1] == 0
    assert not (soft > 0)[~raster.stroke_mask((20.5, 20.5), (20.5, 20.5), 11)[0]].any()  # within the brush
