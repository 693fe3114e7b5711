"""The even-odd polygon fill against hand-made cases."""

from __future__ import annotations

import numpy as np

from app.io.polygon_fill import fill_even_odd


def _square(x0, y0, x1, y1, clockwise=False):
    points = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    return points[::-1] if clockwise else points


def test_integer_rectangle_covers_exactly_its_area():
    mask = fill_even_odd([_square(2, 1, 6, 4)], (8, 9))
    expected = np.zeros((8, 9), bool)
    expected[1:4, 2:6] = True  # rows y = 1..3, columns x = 2..5: 4 x 3 = the rectangle's area
    np.testing.assert_array_equal(mask, expected)


def test_inner_contour_is_a_hole_whatever_its_winding_and_an_island_inside_it_fills():
    for clockwise in (False, True):
        mask = fill_even_odd([_square(0, 0, 9, 9), _square(2, 2, 7, 7, clockwise), _square(4, 4, 5, 5)], (10, 10))
        expected = np.zeros((10, 10), bool)
        expected[0:9, 0:9] = True
        expected[2:7, 2:7] = False
        expected[4, 4] = True
        np.testing.assert_array_equal(mask, expected)


def test_triangle_pixel_centres_on_the_hypotenuse_are_outside():
    mask = fill_even_odd([np.array([[0, 0], [6, 0], [0, 6]])], (7, 7))
    expected = np.array([[x + y < 6 for x in range(7)] for y in range(7)])
    np.testing.assert_array_equal(mask, expected)


def test_self_intersecting_bow_tie_and_shared_edges():
    # two squares sharing the edge x = 4: their pixels are disjoint and together the 8 x 3 rectangle
    left = fill_even_odd([_square(0, 0, 4, 3)], (4, 9))
    right = fill_even_odd([_square(4, 0, 8, 3)], (4, 9))
    assert not (left & right).any()
    np.testing.assert_array_equal(left | right, fill_even_odd([_square(0, 0, 8, 3)], (4, 9)))
    # a contour crossing itself at (2, 2): the two lobes of the bow tie (x in [0, 2 - |y - 2|) and its mirror)
    bow = fill_even_odd([np.array([[0, 0], [4, 4], [4, 0], [0, 4]], dtype=float)], (5, 5))
    expected = np.array([[0, 0, 0, 0, 0],
                         [1, 0, 0, 1, 0],
                         [1, 1, 1, 1, 0],
                         [1, 0, 0, 1, 0],
                         [0, 0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(bow, expected)


def test_millimetre_rounding_and_clipping_to_the_grid():
    almost = _square(2, 1, 6, 4) + np.array([-1e-9, 1e-9])  # 2.999999999 must count as 3
    np.testing.assert_array_equal(fill_even_odd([almost], (8, 9)), fill_even_odd([_square(2, 1, 6, 4)], (8, 9)))
    clipped = fill_even_odd([_square(-5, -5, 3, 2)], (4, 4))
    expected = np.zeros((4, 4), bool)
    expected[0:2, 0:3] = True
    np.testing.assert_array_equal(clipped, expected)
    assert not fill_even_odd([np.array([[1, 1], [3, 3]])], (4, 4)).any()  # a segment marks nothing
