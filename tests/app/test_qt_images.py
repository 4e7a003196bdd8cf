import numpy as np
from PySide6.QtGui import QImage

from app.qt_images import qimage_of, rgb_of


def test_rgb_arrays_round_trip_through_qimage_whatever_the_row_padding(qapp):
    rgb = np.random.default_rng(0).integers(0, 255, (7, 5, 3), dtype=np.uint8)  # 15-byte rows: padded
    image = qimage_of(rgb.copy())  # the array it was made from is gone at once: the image owns a copy
    assert image.pixelColor(4, 6).getRgb()[:3] == tuple(int(v) for v in rgb[6, 4])
    assert np.array_equal(rgb_of(image), rgb)
    argb = image.convertToFormat(QImage.Format.Format_ARGB32)  # what a clipboard may hold
    assert np.array_equal(rgb_of(argb), rgb)
