"""Brush geometry: which voxels a round brush covers, on one slice (disc) or in 3D (sphere).

Points are continuous array-index coordinates ``(z, y, x)`` (floats; a voxel's centre sits at its
integer index), so a mouse position between voxel centres is kept as it is. The brush radius is in
millimetres: with the voxel spacing, the disc is round in millimetres on anisotropic voxels (an
ellipse in voxels) and the sphere is an ellipsoid in voxels.

A segment from point A to point B covers the union of the brush placed at every point of AB, a
capsule: every voxel whose centre lies within the radius of the segment. Painting a drag as
segments between consecutive mouse positions therefore leaves no gaps however fast the drag.

Everything here is pure geometry (numpy only): it says where, never what is painted there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Region = tuple[slice, slice, slice]
"""Bounding box of a 3D array region: one step-1 slice per axis ``(z, y, x)``."""


@dataclass(frozen=True)
class Footprint:
    """Voxels covered by a tool inside a bounding box.

    Attributes
    ----------
    region : tuple of 3 slice
        Bounding box ``(z, y, x)`` inside the volume (step 1, non-empty).
    mask : np.ndarray
        ``bool`` array of the region's shape: True where the tool covers the voxel.
    """

    region: Region
    mask: np.ndarray

    @property
    def voxel_count(self) -> int:
        """Number of covered voxels."""
        return int(np.count_nonzero(self.mask))


def check_volume(shape_zyx, spacing_zyx) -> tuple[tuple[int, int, int], np.ndarray]:
    """Validate a volume shape and spacing; return them as a tuple of ints and a ``(3,) float64`` array.

    Raises
    ------
    ValueError
        Not three axes, or a spacing that is not positive and finite.
    """
    shape = tuple(int(s) for s in shape_zyx)
    spacing = np.asarray(spacing_zyx, dtype=np.float64)
    if len(shape) != 3 or spacing.shape != (3,):
        raise ValueError(f"expected a (z, y, x) shape and spacing, got shape {shape_zyx} and spacing "
                         f"{spacing_zyx}")
    if not (np.all(np.isfinite(spacing)) and np.all(spacing > 0)):
        raise ValueError(f"voxel spacing must be positive and finite, got {tuple(spacing)} (z, y, x) mm")
    return shape, spacing


def check_point(point_zyx, name: str = "point") -> np.ndarray:
    """A ``(3,) float64`` point from ``(z, y, x)`` coordinates, or a ValueError naming what was wrong."""
    point = np.asarray(point_zyx, dtype=np.float64)
    if point.shape != (3,) or not np.all(np.isfinite(point)):
        raise ValueError(f"{name} must be three finite (z, y, x) index coordinates, got {point_zyx!r}")
    return point


def check_axis(axis) -> int:
    """The slice axis ``0``, ``1`` or ``2``, or a ValueError."""
    if axis not in (0, 1, 2):
        raise ValueError(f"the slice axis must be 0, 1 or 2, got {axis!r}")
    return int(axis)


def slice_index_of(point: np.ndarray, axis: int, shape: tuple[int, int, int]) -> int | None:
    """Index of the slice along ``axis`` holding ``point`` (nearest voxel centre), None when outside."""
    index = int(np.floor(point[axis] + 0.5))
    return index if 0 <= index < shape[axis] else None


def capsule(shape_zyx, spacing_zyx, start_zyx, end_zyx, radius_mm: float,
            axis: int | None = None) -> Footprint | None:
    """Voxels within ``radius_mm`` of the segment from ``start_zyx`` to ``end_zyx``.

    Parameters
    ----------
    shape_zyx : tuple of 3 int
        Volume shape ``(z, y, x)``.
    spacing_zyx : tuple of 3 float
        Voxel spacing ``(z, y, x)`` in mm.
    start_zyx, end_zyx : sequence of 3 float
        Segment end points, continuous index coordinates (voxel centres at integers). A single
        dab is a segment with equal ends.
    radius_mm : float
        Brush radius in mm (> 0). Whatever the radius, the voxels along the segment's centre line
        (the nearest voxel to points at most one voxel apart, end points included) are covered
        too, so the thinnest brush draws a continuous one-voxel line and a click always paints.
    axis : {0, 1, 2} or None
        2D brush: a disc on the slice along ``axis`` that holds ``start_zyx`` (the end point is
        projected onto that slice). None: a 3D sphere (capsule in all three axes).

    Returns
    -------
    Footprint or None
        The covered voxels inside the volume; None when the segment covers none of them.
    """
    shape, spacing = check_volume(shape_zyx, spacing_zyx)
    start, end = check_point(start_zyx, "start point"), check_point(end_zyx, "end point")
    if not (np.isfinite(radius_mm) and radius_mm > 0):
        raise ValueError(f"the brush radius must be a positive number of mm, got {radius_mm!r}")
    painted_axes = [0, 1, 2]
    bounds: list[slice] = [slice(0, 0)] * 3
    if axis is not None:
        axis = check_axis(axis)
        index = slice_index_of(start, axis, shape)
        if index is None:
            return None
        start[axis] = end[axis] = index
        painted_axes.remove(axis)
        bounds[axis] = slice(index, index + 1)
    radius = float(radius_mm)
    for k in painted_axes:
        reach = radius / spacing[k]
        low = max(int(np.floor(min(start[k], end[k]) - reach)), 0)
        high = min(int(np.ceil(max(start[k], end[k]) + reach)) + 1, shape[k])
        if low >= high:
            return None
        bounds[k] = slice(low, high)
    region: Region = (bounds[0], bounds[1], bounds[2])
    mask = _within_segment(region, spacing, start, end, radius)
    _cover_centre_line(mask, region, start, end)
    if not mask.any():
        return None
    return Footprint(region, mask)


def sphere(shape_zyx, spacing_zyx, centre_zyx, radius_mm: float) -> Footprint | None:
    """Voxels within ``radius_mm`` of ``centre_zyx`` in 3D: an ellipsoid in voxels (see :func:`capsule`)."""
    return capsule(shape_zyx, spacing_zyx, centre_zyx, centre_zyx, radius_mm, axis=None)


def disc(shape_zyx, spacing_zyx, centre_zyx, radius_mm: float, axis: int) -> Footprint | None:
    """Voxels of the slice along ``axis`` holding ``centre_zyx`` within ``radius_mm`` of it (see :func:`capsule`)."""
    return capsule(shape_zyx, spacing_zyx, centre_zyx, centre_zyx, radius_mm, axis=axis)


def _within_segment(region: Region, spacing: np.ndarray, start: np.ndarray, end: np.ndarray,
                    radius: float) -> np.ndarray:
    """``bool`` mask of the region: voxel centres within ``radius`` mm of segment start-end."""
    grids = np.ix_(*(np.arange(part.start, part.stop, dtype=np.float64) for part in region))
    offsets = [(grid - start[k]) * spacing[k] for k, grid in enumerate(grids)]  # mm from start
    direction = (end - start) * spacing  # mm
    length_squared = float(direction @ direction)
    if length_squared > 0.0:
        along = sum(offset * direction[k] for k, offset in enumerate(offsets)) / length_squared
        along = np.clip(along, 0.0, 1.0)
    else:
        along = np.zeros((1, 1, 1))
    distance_squared = sum((offset - along * direction[k]) ** 2 for k, offset in enumerate(offsets))
    return np.broadcast_to(distance_squared <= radius * radius, tuple(p.stop - p.start for p in region)).copy()


def _cover_centre_line(mask: np.ndarray, region: Region, start: np.ndarray, end: np.ndarray) -> None:
    """Set, in ``mask``, the voxels nearest to points of segment start-end at most one voxel apart.

    Consecutive points differ by at most one voxel along every axis, so the voxels form a
    connected line (8-connected on a slice, 26-connected in 3D) from the start's voxel to the end's.
    """
    steps = int(np.ceil(np.abs(end - start).max())) + 1
    points = start + np.linspace(0.0, 1.0, steps)[:, None] * (end - start)
    voxels = np.floor(points + 0.5).astype(np.int64)
    lows = np.array([part.start for part in region])
    highs = np.array([part.stop for part in region])
    inside = np.all((voxels >= lows) & (voxels < highs), axis=1)
    local = voxels[inside] - lows
    mask[local[:, 0], local[:, 1], local[:, 2]] = True
