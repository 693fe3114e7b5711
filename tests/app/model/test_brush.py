"""Brush geometry: discs round in millimetres, capsules without gaps, 3D spheres, clipping."""

import itertools
import math

import numpy as np
import pytest
from scipy import ndimage

from app.model.brush import capsule, disc, sphere


def _brute_force(shape, spacing, start, end, radius, axis=None):
    """Reference: loop over every voxel, distance from its centre to the segment in mm (pure Python)."""
    covered = np.zeros(shape, dtype=bool)
    start, end = list(map(float, start)), list(map(float, end))
    if axis is not None:
        start[axis] = end[axis] = round(start[axis])
    seg = [(e - s) * sp for s, e, sp in zip(start, end, spacing, strict=True)]
    seg_len2 = sum(c * c for c in seg)
    for index in itertools.product(*(range(n) for n in shape)):
        if axis is not None and index[axis] != start[axis]:
            continue
        rel = [(i - s) * sp for i, s, sp in zip(index, start, spacing, strict=True)]
        t = 0.0 if seg_len2 == 0 else min(1.0, max(0.0, sum(r * c for r, c in zip(rel, seg, strict=True)) / seg_len2))
        d2 = sum((r - t * c) ** 2 for r, c in zip(rel, seg, strict=True))
        covered[index] = d2 <= radius * radius
    return covered


def _full(footprint, shape):
    volume = np.zeros(shape, dtype=bool)
    if footprint is not None:
        volume[footprint.region] = footprint.mask
    return volume


def test_disc_is_round_in_mm_on_anisotropic_voxels():
    shape, spacing, radius = (5, 60, 30), (3.0, 0.5, 2.0), 6.0
    footprint = disc(shape, spacing, (2, 30, 15), radius, axis=0)
    covered = _full(footprint, shape)
    np.testing.assert_array_equal(covered, _brute_force(shape, spacing, (2, 30, 15), (2, 30, 15), radius, 0))
    ys, xs = np.nonzero(covered[2])
    # Same extent in mm along both in-plane axes (12 mm diameter = 24 rows of 0.5 mm, 6 columns of 2 mm).
    assert (ys.max() - ys.min()) * 0.5 == pytest.approx(2 * radius)
    assert (xs.max() - xs.min()) * 2.0 == pytest.approx(2 * radius)
    area_mm2 = covered.sum() * 0.5 * 2.0
    assert area_mm2 == pytest.approx(math.pi * radius**2, rel=0.1)
    assert covered[[0, 1, 3, 4]].sum() == 0, "a 2D brush paints only its slice"


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_disc_uses_the_in_plane_spacing_of_each_axis(axis):
    shape, spacing = (14, 16, 18), (2.5, 0.7, 1.3)
    centre = (6.4, 7.2, 8.6)
    covered = _full(disc(shape, spacing, centre, 3.0, axis=axis), shape)
    np.testing.assert_array_equal(covered, _brute_force(shape, spacing, centre, centre, 3.0, axis))


def test_sphere_is_an_ellipsoid_in_voxels():
    shape, spacing, radius = (20, 30, 30), (2.0, 1.0, 1.0), 5.0
    covered = _full(sphere(shape, spacing, (10, 15, 15), radius), shape)
    np.testing.assert_array_equal(covered, _brute_force(shape, spacing, (10, 15, 15), (10, 15, 15), radius))
    zs, ys, xs = np.nonzero(covered)
    assert (xs.min(), xs.max()) == (10, 20)
    assert (zs.min(), zs.max()) == (8, 12) and (ys.min(), ys.max()) == (10, 20)
    volume_mm3 = covered.sum() * 2.0
    assert volume_mm3 == pytest.approx(4 / 3 * math.pi * radius**3, rel=0.1)


def test_capsule_is_every_voxel_within_the_radius_of_the_segment():
    shape, spacing = (3, 40, 50), (1.0, 0.8, 1.2)
    start, end = (1, 3.3, 4.1), (1, 35.7, 41.2)
    covered = _full(capsule(shape, spacing, start, end, 2.5, axis=0), shape)
    np.testing.assert_array_equal(covered, _brute_force(shape, spacing, start, end, 2.5, 0))


def test_3d_capsule_matches_the_brute_force_reference():
    shape, spacing = (12, 14, 16), (2.0, 0.9, 1.1)
    start, end = (2.2, 3.1, 2.0), (9.7, 10.4, 13.3)
    covered = _full(capsule(shape, spacing, start, end, 2.0), shape)
    np.testing.assert_array_equal(covered, _brute_force(shape, spacing, start, end, 2.0))


@pytest.mark.parametrize("radius", [0.01, 0.5, 2.0])
def test_a_fast_drag_leaves_no_gap(radius):
    """One segment across most of the slice (a fast mouse move) paints a connected band."""
    shape, spacing = (1, 100, 120), (1.0, 1.0, 1.0)
    start, end = np.array([0, 2.2, 3.7]), np.array([0, 95.6, 110.3])
    covered = _full(capsule(shape, spacing, start, end, radius, axis=0), shape)[0]
    _, components = ndimage.label(covered, structure=np.ones((3, 3)))
    assert components == 1
    columns = np.flatnonzero(covered.any(axis=0))
    np.testing.assert_array_equal(columns, np.arange(columns[0], columns[-1] + 1))  # no empty column
    assert columns[0] <= round(start[2]) and columns[-1] >= round(end[2])
    for t in np.linspace(0.0, 1.0, 500):
        y, x = (start + t * (end - start))[1:]
        near = covered[max(int(y) - 1, 0):int(y) + 2, max(int(x) - 1, 0):int(x) + 2]
        assert near.any(), f"nothing painted near the drag at ({y:.1f}, {x:.1f})"
    if radius >= 1.0:  # a real brush covers the voxel under every point the mouse passed
        points = (start + t * (end - start) for t in np.linspace(0.0, 1.0, 500))
        rounded = {(int(np.floor(p[1] + 0.5)), int(np.floor(p[2] + 0.5))) for p in points}
        assert all(covered[p] for p in rounded)


def test_a_tiny_brush_still_paints_the_voxel_under_the_cursor():
    shape = (4, 10, 10)
    footprint = disc(shape, (1.0, 1.0, 1.0), (2, 4.5, 4.5), 0.01, axis=0)
    assert footprint.voxel_count >= 1
    covered = _full(footprint, shape)
    assert covered[2, 5, 5], "the voxel holding the point (nearest centre) is painted"


def test_the_thinnest_brush_draws_a_one_voxel_line():
    shape = (1, 40, 60)
    covered = _full(capsule(shape, (1.0, 0.5, 2.0), (0, 3.2, 2.4), (0, 30.6, 51.1), 0.01, axis=0), shape)[0]
    columns = covered.sum(axis=0)
    assert set(columns[2:52]) == {1} and columns[:2].sum() == 0 and columns[52:].sum() == 0
    _, components = ndimage.label(covered, structure=np.ones((3, 3)))
    assert components == 1


def test_footprints_are_clipped_to_the_volume():
    shape = (2, 10, 10)
    footprint = disc(shape, (1.0, 1.0, 1.0), (0, 0.0, 0.0), 3.0, axis=0)
    assert all(part.start >= 0 and part.stop <= size for part, size in zip(footprint.region, shape, strict=True))
    covered = _full(footprint, shape)
    np.testing.assert_array_equal(covered, _brute_force(shape, (1.0, 1.0, 1.0), (0, 0, 0), (0, 0, 0), 3.0, 0))


def test_points_off_the_volume_paint_nothing_there():
    shape = (2, 10, 10)
    assert disc(shape, (1.0, 1.0, 1.0), (5, 3, 3), 2.0, axis=0) is None  # slice 5 does not exist
    assert disc(shape, (1.0, 1.0, 1.0), (0, -20, -20), 2.0, axis=0) is None


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_bad_radius_is_refused(bad):
    with pytest.raises(ValueError, match="radius"):
        disc((2, 10, 10), (1.0, 1.0, 1.0), (0, 3, 3), bad, axis=0)


def test_bad_points_and_axes_are_refused():
    with pytest.raises(ValueError, match="point"):
        disc((2, 10, 10), (1.0, 1.0, 1.0), (0, 3), 2.0, axis=0)
    with pytest.raises(ValueError, match="axis"):
        disc((2, 10, 10), (1.0, 1.0, 1.0), (0, 3, 3), 2.0, axis=3)
    with pytest.raises(ValueError, match="spacing"):
        disc((2, 10, 10), (0.0, 1.0, 1.0), (0, 3, 3), 2.0, axis=0)
