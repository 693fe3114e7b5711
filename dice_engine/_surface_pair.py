"""Per-class cache of both surfaces and of each surface voxel's distance to the other surface.

A :class:`SurfacePair` holds, for one class, the GT and the prediction surface voxels (sorted
flat indices) and, for each of them, the exact Euclidean distance in mm to the nearest voxel of
the other surface, or NaN while unknown. Distances are searched row by row
(:mod:`dice_engine._row_search`): each surface keeps a table of gaps along x to its nearest
voxel in every row of a box, and a voxel reads the rows nearest first until no row can hold a
nearer voxel. The few voxels farther than the row list reaches query a k-d tree over the other
surface's voxel centres in mm.

Edits keep what they cannot have changed: after surface ``S`` changed inside a box ``B``,

* voxels of ``S`` outside ``B`` keep their distance to the other surface (it did not move);
* a voxel ``q`` of the other surface with known distance ``d(q)`` keeps it when every voxel of
  ``B`` is farther than ``d(q)``: the voxel it was nearest to is not in ``B`` (so still there)
  and nothing new in ``B`` can be nearer. Only the others are queried again;
* ``S``'s row table is recomputed only in the rows that ``B`` crosses (a table whose box the
  new voxels leave is rebuilt when next used), and its k-d tree, if one was needed, is rebuilt
  only when next needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from dice_engine._row_search import RowGaps, nearest_squared
from dice_engine._surface import Box, distance_to_box, outside_box

# A distance d counts as "within tolerance tau" when d <= tau + NSD_SLACK_MM: distances that
# equal tau exactly on the voxel grid (e.g. 3 voxels of 0.1 mm vs tau = 0.3 mm) can come out a
# few units in the last place above tau after the spacing products.
NSD_SLACK_MM = 1e-9
# Relative and absolute safety margin when deciding that an edit cannot have reached a voxel.
_KEEP_MARGIN = 1e-9
# Largest row table (entries, 2 bytes each) kept between edits; larger ones are rebuilt when needed.
KEPT_TABLE_ENTRIES = 1 << 24


def _points(flat: np.ndarray, shape: Sequence[int], spacing: np.ndarray) -> np.ndarray:
    """``(n, ndim)`` float64 voxel-centre coordinates in mm."""
    return np.column_stack(np.unravel_index(flat, tuple(shape))) * spacing


def _coords(flat: np.ndarray, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z, y, x)`` int64 voxel coordinates of flat indices; ``z = 0`` for a 2D image."""
    coords = np.unravel_index(flat, tuple(shape))
    if len(coords) == 2:
        coords = (np.zeros(flat.size, dtype=np.int64), *coords)
    return tuple(c.astype(np.int64, copy=False) for c in coords)


def _row_spacing(spacing: np.ndarray) -> tuple[float | None, float, float]:
    """``(sz, sy, sx)`` for :func:`~dice_engine._row_search.nearest_squared`; ``sz`` None in 2D."""
    values = [float(s) for s in spacing]
    return (None, *values) if len(values) == 2 else tuple(values)


class SurfaceSide:
    """One class's surface on one mask, with each voxel's distance to the other mask's surface.

    Attributes
    ----------
    flat : numpy.ndarray
        ``(n,)`` int64 flat indices of the surface voxels, ascending.
    distances : numpy.ndarray
        ``(n,)`` float64 distance in mm to the nearest voxel of the other surface, NaN while unknown.
    """

    __slots__ = ("_rows", "_tree", "distances", "flat")

    def __init__(self, flat: np.ndarray) -> None:
        self.flat = flat
        self.distances = np.full(flat.size, np.nan)
        self._tree: cKDTree | None = None
        self._rows: RowGaps | None = None

    def forget_search(self) -> None:
        """Free the row table and the k-d tree (rebuilt when next needed)."""
        self._rows = self._tree = None

    def forget_large_search(self) -> None:
        """Free a row table over a box of more than :data:`KEPT_TABLE_ENTRIES` voxels (a class
        strewn across the image): kept between edits, the tables of several such classes would
        hold hundreds of MB; rebuilt when next needed instead."""
        if self._rows is not None and self._rows.gaps.size > KEPT_TABLE_ENTRIES:
            self._rows = None

    def tree(self, shape: Sequence[int], spacing: np.ndarray) -> cKDTree:
        """k-d tree over this surface's voxel centres in mm (built on first use after a change)."""
        if self._tree is None:
            self._tree = cKDTree(
                _points(self.flat, shape, spacing), leafsize=32, balanced_tree=False, compact_nodes=False
            )
        return self._tree

    def rows(self, shape: Sequence[int], queries: tuple[np.ndarray, ...]) -> RowGaps:
        """This surface's row table, over a box that also holds the voxels ``queries`` (z, y, x)."""
        if self._rows is None or not self._rows.covers(*queries):
            mine = _coords(self.flat, shape)
            low = np.array([min(int(a.min()), int(b.min())) for a, b in zip(mine, queries, strict=True)])
            high = np.array([max(int(a.max()), int(b.max())) + 1 for a, b in zip(mine, queries, strict=True)])
            if self._rows is not None:  # keep the old box too, so alternating edits do not rebuild twice
                low, high = np.minimum(low, self._rows.low), np.maximum(high, self._rows.high)
            self._rows = RowGaps(low, high, *mine)
        return self._rows

    def replace_in_box(self, box: Box, new_flat: np.ndarray, shape: Sequence[int]) -> None:
        """Replace the surface voxels inside ``box`` by ``new_flat`` (all inside ``box``, ascending)."""
        near = self._in_rows(box, 0, 0, shape)
        inside = near[~outside_box(self.flat[near], box, shape)]
        flat, distances = np.delete(self.flat, inside), np.delete(self.distances, inside)
        at = np.searchsorted(flat, new_flat)
        self.flat = np.insert(flat, at, new_flat)
        self.distances = np.insert(distances, at, np.nan)
        self._tree = None
        if self._rows is not None:
            if self._rows.covers(*_coords(new_flat, shape)):
                self._refresh_rows(box, shape)
            else:
                self._rows = None

    def _in_rows(self, box: Box, margin_z: int, margin_y: int, shape: Sequence[int]) -> np.ndarray:
        """Indices into ``flat`` of the voxels in the rows (z, y) of ``box`` widened by the margins.

        ``flat`` is in raster order, so the voxels of one slice's run of rows are one contiguous
        range, found by bisection: the cost follows the slices touched, not the whole surface.
        """
        spans = box if len(box) == 3 else (slice(0, 1), *box)
        depth, height, width = (1, *shape) if len(shape) == 2 else tuple(shape)
        z0, z1 = max(spans[0].start - margin_z, 0), min(spans[0].stop + margin_z, depth)
        y0, y1 = max(spans[1].start - margin_y, 0), min(spans[1].stop + margin_y, height)
        if z0 >= z1 or y0 >= y1:
            return np.zeros(0, dtype=np.intp)
        slices = np.arange(z0, z1, dtype=np.int64) * height
        lo = np.searchsorted(self.flat, (slices + y0) * width)
        hi = np.searchsorted(self.flat, (slices + y1) * width)
        if lo.size == 1:
            return np.arange(lo[0], hi[0])
        return np.concatenate([np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])

    def _refresh_rows(self, box: Box, shape: Sequence[int]) -> None:
        """Recompute the row table in the rows (z, y) that ``box`` crosses, inside the table's box."""
        table = self._rows
        spans = box if len(box) == 3 else (slice(0, 1), *box)
        z0, z1 = max(spans[0].start, int(table.low[0])), min(spans[0].stop, int(table.high[0]))
        y0, y1 = max(spans[1].start, int(table.low[1])), min(spans[1].stop, int(table.high[1]))
        if z0 >= z1 or y0 >= y1:
            return
        width = int(shape[-1])
        plane = int(shape[-2]) * width
        starts = [z * plane + y0 * width for z in range(z0, z1)]
        stops = [z * plane + y1 * width for z in range(z0, z1)]
        lo, hi = np.searchsorted(self.flat, starts), np.searchsorted(self.flat, stops)
        inside = np.concatenate([self.flat[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
        z, y, x = _coords(inside, shape)
        low = table.low
        table.refresh(z0 - int(low[0]), z1 - int(low[0]), y0 - int(low[1]), y1 - int(low[1]),
                      z - low[0], y - low[1], x - low[2])

    def forget_near(self, box: Box, shape: Sequence[int], spacing: np.ndarray) -> None:
        """Mark unknown every distance that a change of the other surface inside ``box`` may alter.

        Only voxels in rows within the largest known distance of ``box`` can be affected, so
        only those are looked at.
        """
        known = ~np.isnan(self.distances)
        if not known.any():
            return
        farthest = float(self.distances[known].max())
        steps = [float(s) for s in spacing]
        margin_z = 0 if len(steps) == 2 else int(np.ceil(farthest / steps[0])) + 1
        margin_y = int(np.ceil(farthest / steps[-2])) + 1
        near = self._in_rows(box, margin_z, margin_y, shape)
        near = near[known[near]]
        reach = distance_to_box(self.flat[near], box, shape, spacing)
        current = self.distances[near]
        self.distances[near[reach <= current * (1 + _KEEP_MARGIN) + _KEEP_MARGIN]] = np.nan

    def fill_distances(self, other: SurfaceSide, shape: Sequence[int], spacing: np.ndarray) -> None:
        """Compute every unknown distance to ``other`` (which must not be empty).

        Rows of ``other``'s table are read nearest first (:func:`~dice_engine._row_search.nearest_squared`);
        voxels whose nearest voxel lies beyond the row list go to a k-d tree over ``other``.
        """
        unknown = np.flatnonzero(np.isnan(self.distances))
        if unknown.size == 0:
            return
        queries = _coords(self.flat[unknown], shape)
        squared = nearest_squared(other.rows(shape, queries), *queries, _row_spacing(spacing))
        self.distances[unknown] = np.sqrt(squared)
        far = np.isinf(squared)
        if far.any():
            found, _ = other.tree(shape, spacing).query(_points(self.flat[unknown[far]], shape, spacing), k=1)
            self.distances[unknown[far]] = found


def summarize(gt_to_pred: np.ndarray, pred_to_gt: np.ndarray, tolerances: Sequence[float]) -> np.ndarray:
    """Surface-distance figures of one class from both directed distance sets.

    Parameters
    ----------
    gt_to_pred, pred_to_gt : numpy.ndarray
        ``(n,)`` and ``(m,)`` float64 distances in mm, both non-empty.
    tolerances : sequence of float
        NSD tolerances in mm, ``T`` of them.

    Returns
    -------
    numpy.ndarray
        ``(4 + T,)`` float64: HD, HD95 (max of directed 95th percentiles), pooled HD95, ASSD,
        then NSD at each tolerance. Percentiles interpolate linearly (``np.percentile``'s
        default, the same as ``torch.quantile`` in MONAI).
    """
    pooled = np.concatenate([gt_to_pred, pred_to_gt])
    hausdorff = max(gt_to_pred.max(), pred_to_gt.max())
    hausdorff95 = max(np.percentile(gt_to_pred, 95), np.percentile(pred_to_gt, 95))
    hausdorff95_pooled = np.percentile(pooled, 95)
    nsd = [np.count_nonzero(pooled <= tau + NSD_SLACK_MM) / pooled.size for tau in tolerances]
    return np.array([hausdorff, hausdorff95, hausdorff95_pooled, pooled.mean(), *nsd], dtype=np.float64)


class SurfacePair:
    """Both surfaces of one class and the summary figures computed from them.

    Parameters
    ----------
    gt_flat, pred_flat : numpy.ndarray
        ``(n,)`` and ``(m,)`` int64 ascending flat indices of the GT and prediction surface voxels.
    """

    __slots__ = ("_summary", "gt", "pred")

    def __init__(self, gt_flat: np.ndarray, pred_flat: np.ndarray) -> None:
        self.gt = SurfaceSide(gt_flat)
        self.pred = SurfaceSide(pred_flat)
        self._summary: np.ndarray | None = None

    def replace_in_box(
        self, which: str, box: Box, new_flat: np.ndarray, shape: Sequence[int], spacing: np.ndarray
    ) -> None:
        """Surface ``which`` ("gt" or "pred") changed inside ``box``; its voxels there are ``new_flat``."""
        changed, other = (self.gt, self.pred) if which == "gt" else (self.pred, self.gt)
        changed.replace_in_box(box, new_flat, shape)
        other.forget_near(box, shape, spacing)
        self._summary = None

    def forget_search(self) -> None:
        """Free both surfaces' row tables and k-d trees (rebuilt if ever needed again)."""
        for side in (self.gt, self.pred):
            side.forget_search()

    def summary(self, shape: Sequence[int], spacing: np.ndarray, tolerances: Sequence[float]) -> np.ndarray:
        """``(4 + T,)`` float64 figures as :func:`summarize`; all NaN when either surface is empty."""
        if self._summary is None:
            if self.gt.flat.size == 0 or self.pred.flat.size == 0:
                self._summary = np.full(4 + len(tolerances), np.nan)
            else:
                self.gt.fill_distances(self.pred, shape, spacing)
                self.pred.fill_distances(self.gt, shape, spacing)
                self._summary = summarize(self.gt.distances, self.pred.distances, tolerances)
                for side in (self.gt, self.pred):
                    side.forget_large_search()
        return self._summary
