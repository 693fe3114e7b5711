"""Flood fill (4-connected, on one slice) and polygon fill (even-odd, voxel centres)."""

import numpy as np
import pytest

from app.model.fill import connected_region, polygon_region


def _full(footprint, shape):
    volume = np.zeros(shape, dtype=bool)
    if footprint is not None:
        volume[footprint.region] = footprint.mask
    return volume


def _inside_reference(polygon_yx, y, x):
    """Even-odd ray casting for one point (the classic PNPOLY loop), pure Python."""
    inside = False
    n = len(polygon_yx)
    for i in range(n):
        (y0, x0), (y1, x1) = polygon_yx[i], polygon_yx[(i + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def test_flood_fill_is_4_connected_and_stays_on_its_slice():
    labels = np.zeros((2, 6, 6), dtype=np.uint8)
    labels[1] = np.array([
        [1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [0, 0, 1, 1, 0, 0],  # touches the first block only diagonally
        [0, 0, 1, 1, 0, 2],
        [0, 0, 0, 0, 0, 2],
        [1, 0, 0, 0, 0, 0],
    ])
    labels[0] = 1
    region = _full(connected_region(labels, (1, 0.2, 0.4), axis=0), labels.shape)
    expected = np.zeros_like(region)
    expected[1, :2, :2] = True
    np.testing.assert_array_equal(region, expected)
    background = _full(connected_region(labels, (1, 5, 3), axis=0), labels.shape)
    np.testing.assert_array_equal(background[1], labels[1] == 0)  # every zero connects through edges
    assert not background[0].any()


def test_flood_fill_region_is_cropped_to_its_bounding_box():
    labels = np.zeros((1, 50, 50), dtype=np.uint8)
    labels[0, 10:14, 20:30] = 3
    footprint = connected_region(labels, (0, 12, 25), axis=0)
    assert footprint.region == (slice(0, 1), slice(10, 14), slice(20, 30))
    assert footprint.mask.all()


@pytest.mark.parametrize("axis", [1, 2])
def test_flood_fill_on_other_axes(axis):
    rng = np.random.default_rng(axis)
    labels = (rng.random((8, 9, 10)) < 0.5).astype(np.uint8)
    point = (3, 4, 5)
    footprint = connected_region(labels, point, axis=axis)
    region = _full(footprint, labels.shape)
    value = labels[point]
    assert region[point] and np.all(labels[region] == value)
    assert np.take(region, [i for i in range(labels.shape[axis]) if i != point[axis]], axis=axis).sum() == 0
    # Closed under 4-neighbours of equal label within the slice.
    plane, plane_labels = np.take(region, point[axis], axis=axis), np.take(labels, point[axis], axis=axis)
    for r, c in zip(*np.nonzero(plane), strict=True):
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < plane.shape[0] and 0 <= cc < plane.shape[1] and plane_labels[rr, cc] == value:
                assert plane[rr, cc]


def test_flood_fill_outside_the_volume_is_none():
    assert connected_region(np.zeros((2, 4, 4), np.uint8), (0, 9, 9), axis=0) is None


def test_square_polygon_covers_the_centres_inside():
    footprint = polygon_region((3, 10, 10), [(1, 1.5, 1.5), (1, 1.5, 5.5), (1, 5.5, 5.5), (1, 5.5, 1.5)], axis=0)
    covered = _full(footprint, (3, 10, 10))
    expected = np.zeros((3, 10, 10), dtype=bool)
    expected[1, 2:6, 2:6] = True
    np.testing.assert_array_equal(covered, expected)


def test_polygons_tiling_the_plane_cover_each_voxel_once():
    shape = (1, 12, 12)
    left = polygon_region(shape, [(0, 2, 2), (0, 2, 6), (0, 9, 6), (0, 9, 2)], axis=0)
    right = polygon_region(shape, [(0, 2, 6), (0, 2, 10), (0, 9, 10), (0, 9, 6)], axis=0)
    both = polygon_region(shape, [(0, 2, 2), (0, 2, 10), (0, 9, 10), (0, 9, 2)], axis=0)
    a, b = _full(left, shape), _full(right, shape)
    assert not (a & b).any()
    np.testing.assert_array_equal(a | b, _full(both, shape))


def test_self_intersecting_lasso_follows_the_even_odd_rule():
    # A pentagram: the central pentagon is enclosed twice, so it stays unfilled.
    angles = np.pi / 2 + np.arange(5) * 4 * np.pi / 5
    star = [(0, 30 + 25 * np.sin(a), 30 + 25 * np.cos(a)) for a in angles]
    covered = _full(polygon_region((1, 60, 60), star, axis=0), (1, 60, 60))
    assert not covered[0, 30, 30]
    assert covered[0, 48, 30], "a tip of the star is filled"
    expected = [[_inside_reference([p[1:] for p in star], r, c) for c in range(60)] for r in range(60)]
    np.testing.assert_array_equal(covered[0], np.array(expected))


@pytest.mark.parametrize("seed", range(6))
def test_random_polygons_match_ray_casting(seed):
    rng = np.random.default_rng(seed)
    shape, axis = (7, 30, 40), seed % 3
    in_plane = [k for k in range(3) if k != axis]
    vertices = rng.uniform(-3, 42, size=(int(rng.integers(3, 12)), 3))
    vertices[:, axis] = 3
    covered = _full(polygon_region(shape, vertices, axis=axis), shape)
    polygon_yx = [(v[in_plane[0]], v[in_plane[1]]) for v in vertices]
    expected = np.zeros(shape, dtype=bool)
    for r in range(shape[in_plane[0]]):
        for c in range(shape[in_plane[1]]):
            index = [0, 0, 0]
            index[axis], index[in_plane[0]], index[in_plane[1]] = 3, r, c
            expected[tuple(index)] = _inside_reference(polygon_yx, r, c)
    np.testing.assert_array_equal(covered, expected)


def test_degenerate_polygons_cover_nothing():
    assert polygon_region((1, 10, 10), [(0, 1, 1), (0, 5, 5)], axis=0) is None
    assert polygon_region((1, 10, 10), [(0, 1, 1), (0, 1, 5), (0, 1, 8)], axis=0) is None  # a line
    assert polygon_region((1, 10, 10), [(4, 1, 1), (4, 1, 5), (4, 6, 8)], axis=0) is None  # no slice 4
    with pytest.raises(ValueError, match="polygon points"):
        polygon_region((1, 10, 10), [(1, 1), (5, 5), (6, 6)], axis=0)
