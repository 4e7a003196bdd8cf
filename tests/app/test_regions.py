import numpy as np

from app.regions import bounding_box, changed_region, union


def test_union_and_bounding_box():
    assert union(None, (1, 2, 3, 4)) == (1, 2, 3, 4)
    assert union((1, 2, 3, 4), (0, 5, 2, 9)) == (0, 2, 3, 9)
    where = np.zeros((10, 12), bool)
    assert bounding_box(where) is None
    where[3, 4] = where[6, 9] = True
    assert bounding_box(where) == (3, 4, 7, 10)


def test_changed_region_is_the_tight_box_of_any_changed_plane_within_the_touched_region():
    before = np.zeros((20, 20), np.uint8)
    labels, instances = before.copy(), before.copy()
    labels[5, 6] = 1
    instances[8, 11] = 2
    assert changed_region((2, 3, 15, 15), (before, labels)) == (5, 6, 6, 7)
    assert changed_region((2, 3, 15, 15), (before, labels), (before, instances)) == (5, 6, 9, 12)
    assert changed_region((0, 0, 5, 5), (before, labels)) is None  # changes outside are not looked at
