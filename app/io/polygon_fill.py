"""Fill closed planar polygons on a pixel grid with the even-odd rule (exact, numpy only).

A pixel belongs to the fill when its centre (integer ``(x, y)`` coordinates) lies inside by the
crossing-number test: a ray from the centre towards +x crosses an odd number of edges. Edges are
half-open in y (an edge from ``y0`` to ``y1`` covers ``min <= y < max``) and a centre counts as inside
an edge it lies on only on the edge's left side, so a rectangle with integer corners ``(x0, y0)``,
``(x1, y1)`` covers exactly ``(x1 - x0) x (y1 - y0)`` pixels, and polygons that share an edge never
both claim its pixels. Several polygons are filled together, so a contour inside another is a hole
(and one inside that, an island), whatever the winding direction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COORDINATE_DECIMALS = 6
"""Vertex coordinates (in pixels) are rounded to this many decimals first, so that a vertex computed
as 2.9999999 from millimetres lands on the pixel centre 3 it means."""


def fill_even_odd(polygons: Sequence[np.ndarray], shape_yx: tuple[int, int]) -> np.ndarray:
    """The pixels inside ``polygons`` by the even-odd rule.

    Parameters
    ----------
    polygons : sequence of np.ndarray
        Each ``(n, 2)`` float vertex coordinates ``(x, y)`` in pixels (pixel centres at integers),
        implicitly closed; polygons with fewer than 3 vertices add nothing.
    shape_yx : (int, int)
        Height and width of the grid.

    Returns
    -------
    np.ndarray
        ``(height, width)`` bool.
    """
    height, width = shape_yx
    mask = np.zeros((height, width), dtype=bool)
    starts, ends = [], []
    for polygon in polygons:
        points = np.round(np.asarray(polygon, dtype=np.float64).reshape(-1, 2), COORDINATE_DECIMALS)
        if len(points) >= 3:
            starts.append(points)
            ends.append(np.roll(points, -1, axis=0))
    if not starts:
        return mask
    (x0, y0), (x1, y1) = np.concatenate(starts).T, np.concatenate(ends).T
    sloped = y0 != y1
    x0, y0, x1, y1 = x0[sloped], y0[sloped], x1[sloped], y1[sloped]
    if x0.size == 0:
        return mask
    first = max(int(np.ceil(min(y0.min(), y1.min()))), 0)
    last = min(int(np.ceil(max(y0.max(), y1.max()))) - 1, height - 1)
    if last < first:
        return mask
    rows = np.arange(first, last + 1, dtype=np.float64)[:, np.newaxis]  # (R, 1) against (E,) edges
    crosses = (y0 <= rows) != (y1 <= rows)  # half-open: min(y0, y1) <= y < max(y0, y1)
    row_of, edge_of = np.nonzero(crosses)
    at_x = x0[edge_of] + (rows[row_of, 0] - y0[edge_of]) * (x1[edge_of] - x0[edge_of]) / (y1[edge_of] - y0[edge_of])
    # each crossing at x toggles every centre px < x, i.e. px < ceil(x): a +1 at 0 and -1 at ceil(x)
    toggles = np.zeros((rows.shape[0], width + 1), dtype=np.int32)
    stop = np.clip(np.ceil(np.round(at_x, COORDINATE_DECIMALS)), 0, width).astype(np.intp)
    np.add.at(toggles, (row_of, np.zeros_like(stop)), 1)
    np.add.at(toggles, (row_of, stop), -1)
    mask[first:last + 1] = (np.cumsum(toggles[:, :width], axis=1) % 2) == 1
    return mask
