"""Region tools on one slice: flood fill of a connected region and polygon (lasso) fill.

Points are continuous array-index coordinates ``(z, y, x)`` as in :mod:`app.model.brush`; the slice
is the one along ``axis`` that holds the (first) point. Both tools return a
:class:`~app.model.brush.Footprint` whose region is one voxel thick along ``axis``.
"""

from __future__ import annotations

import numpy as np

from app.model.brush import Footprint, Region, check_axis, check_point, slice_index_of


def connected_region(labels: np.ndarray, point_zyx, axis: int, *, image: np.ndarray | None = None,
                     tolerance: float | None = None) -> Footprint | None:
    """The 4-connected region of equal labels (and similar intensity) around ``point_zyx`` on its slice.

    Parameters
    ----------
    labels : np.ndarray
        ``(z, y, x)`` integer label map (read only).
    point_zyx : sequence of 3 float
        The clicked point; the voxel holding it (nearest centre) seeds the region.
    axis : {0, 1, 2}
        The slice axis.
    image : np.ndarray, optional
        ``(z, y, x)`` scalar intensities; with ``tolerance``, the region also keeps to voxels whose
        intensity differs from the seed's by at most ``tolerance``.
    tolerance : float, optional
        Intensity tolerance (>= 0); None: labels only.

    Returns
    -------
    Footprint or None
        The voxels of the slice that carry the seed's label (and intensity within the tolerance) and
        connect to the seed through edge-sharing (4-connected) neighbours, cropped to their bounding
        box; None when the point lies outside the volume.
    """
    axis = check_axis(axis)
    point = check_point(point_zyx)
    if labels.ndim != 3:
        raise ValueError(f"expected a (z, y, x) label map, got {labels.ndim} dimensions")
    seed = [int(np.floor(value + 0.5)) for value in point]
    if not all(0 <= seed[k] < labels.shape[k] for k in range(3)):
        return None
    in_plane = [k for k in range(3) if k != axis]
    plane = np.take(labels, seed[axis], axis=axis)  # 2D, in-plane axes in increasing order
    seed_2d = (seed[in_plane[0]], seed[in_plane[1]])
    from scipy import ndimage  # here: importing it costs ~0.5 s, which must not delay the window's start

    similar = plane == plane[seed_2d]
    if image is not None and tolerance is not None:
        if image.shape != labels.shape or not (np.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"the image {image.shape} must match the labels {labels.shape} and the tolerance "
                             f"must be >= 0, got {tolerance!r}")
        intensities = np.take(image, seed[axis], axis=axis).astype(np.float64)
        similar &= np.abs(intensities - intensities[seed_2d]) <= tolerance
    components, _ = ndimage.label(similar)  # default structure: 4-connected
    component = components == components[seed_2d]
    rows = np.flatnonzero(component.any(axis=1))
    cols = np.flatnonzero(component.any(axis=0))
    row_part, col_part = slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
    return _on_slice(component[row_part, col_part], axis, seed[axis], in_plane, (row_part, col_part))


def polygon_region(shape_zyx, points_zyx, axis: int) -> Footprint | None:
    """Voxels of a slice whose centres lie inside a polygon (even-odd rule).

    Parameters
    ----------
    shape_zyx : tuple of 3 int
        Volume shape.
    points_zyx : sequence of (z, y, x) points
        ``(N, 3)`` polygon vertices in order (N >= 3); the polygon closes itself (last to first).
        The slice is the one holding the first point; the coordinate along ``axis`` of the others
        is ignored. Self-intersecting outlines follow the even-odd rule (a lasso crossing itself
        leaves the doubly enclosed part unfilled, as in most drawing programs).
    axis : {0, 1, 2}
        The slice axis.

    Returns
    -------
    Footprint or None
        The enclosed voxels (centres strictly inside or on a left/top edge, so polygons that tile
        the plane cover every voxel exactly once); None when none are enclosed.
    """
    axis = check_axis(axis)
    shape = tuple(int(s) for s in shape_zyx)
    vertices = np.asarray(points_zyx, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.all(np.isfinite(vertices)):
        raise ValueError(f"polygon points must be an (N, 3) array of finite (z, y, x) coordinates, "
                         f"got shape {vertices.shape}")
    if len(vertices) < 3:
        return None
    index = slice_index_of(vertices[0], axis, shape)
    if index is None:
        return None
    in_plane = [k for k in range(3) if k != axis]
    rows_v, cols_v = vertices[:, in_plane[0]], vertices[:, in_plane[1]]
    n_rows, n_cols = shape[in_plane[0]], shape[in_plane[1]]
    first_row = max(int(np.ceil(rows_v.min())), 0)
    last_row = min(int(np.floor(rows_v.max())), n_rows - 1)
    first_col = max(int(np.ceil(cols_v.min())), 0)
    last_col = min(int(np.floor(cols_v.max())), n_cols - 1)
    if first_row > last_row or first_col > last_col:
        return None
    inside = _scanline_fill(rows_v, cols_v, first_row, last_row, first_col, last_col)
    if not inside.any():
        return None
    return _on_slice(inside, axis, index, in_plane,
                     (slice(first_row, last_row + 1), slice(first_col, last_col + 1)))


def _scanline_fill(rows_v: np.ndarray, cols_v: np.ndarray, first_row: int, last_row: int,
                   first_col: int, last_col: int) -> np.ndarray:
    """``bool (rows, cols)`` mask of the box ``[first_row, last_row] x [first_col, last_col]``.

    Row by row, the edges crossing the row's centre line give sorted column crossings
    ``x1 <= x2 <= ...``; a centre column ``c`` is inside when an odd number of crossings lies
    to its right, i.e. ``x(2i-1) <= c < x(2i)``.
    """
    next_rows, next_cols = np.roll(rows_v, -1), np.roll(cols_v, -1)
    inside = np.zeros((last_row - first_row + 1, last_col - first_col + 1), dtype=bool)
    for row in range(first_row, last_row + 1):
        crosses = (rows_v > row) != (next_rows > row)
        if not crosses.any():
            continue
        r0, c0, r1, c1 = rows_v[crosses], cols_v[crosses], next_rows[crosses], next_cols[crosses]
        crossings = np.sort(c0 + (row - r0) * (c1 - c0) / (r1 - r0))
        starts = np.ceil(crossings[0::2]).astype(np.int64)
        stops = np.ceil(crossings[1::2]).astype(np.int64)
        for start, stop in zip(starts, stops, strict=True):
            start, stop = max(start, first_col), min(stop, last_col + 1)
            if start < stop:
                inside[row - first_row, start - first_col:stop - first_col] = True
    return inside


def _on_slice(mask_2d: np.ndarray, axis: int, index: int, in_plane: list[int],
              parts: tuple[slice, slice]) -> Footprint:
    """Lift a 2D in-plane mask of box ``parts`` to a one-voxel-thick 3D footprint on slice ``index``."""
    bounds = [slice(index, index + 1)] * 3
    bounds[in_plane[0]], bounds[in_plane[1]] = parts
    region: Region = (bounds[0], bounds[1], bounds[2])
    return Footprint(region, np.expand_dims(mask_2d, axis).copy())
