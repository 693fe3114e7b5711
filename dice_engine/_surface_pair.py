"""Per-class cache of both surfaces and of each surface voxel's distance to the other surface.

A :class:`SurfacePair` holds, for one class, the GT and the prediction surface voxels (sorted
flat indices) and, for each of them, the exact Euclidean distance in mm to the nearest voxel of
the other surface, or NaN while unknown. Voxels lying on both surfaces get 0; most others find
the other surface at one of the shortest grid offsets (looked at shortest first, so the first
hit is exact); the rest query a k-d tree over the other surface's voxel centres in mm. The cost
follows the number of surface voxels, not the volume of the class's bounding box.

Edits keep what they cannot have changed: after surface ``S`` changed inside a box ``B``,

* voxels of ``S`` outside ``B`` keep their distance to the other surface (it did not move);
* a voxel ``q`` of the other surface with known distance ``d(q)`` keeps it when every voxel of
  ``B`` is farther than ``d(q)``: the voxel it was nearest to is not in ``B`` (so still there)
  and nothing new in ``B`` can be nearer. Only the others are queried again.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from dice_engine._surface import Box, distance_to_box, outside_box

# A distance d counts as "within tolerance tau" when d <= tau + NSD_SLACK_MM: distances that
# equal tau exactly on the voxel grid (e.g. 3 voxels of 0.1 mm vs tau = 0.3 mm) can come out a
# few units in the last place above tau after the spacing products.
NSD_SLACK_MM = 1e-9
# Relative and absolute safety margin when deciding that an edit cannot have reached a voxel.
_KEEP_MARGIN = 1e-9
# Grid offsets looked at before falling back to the k-d tree, in batches of 26 (the 3×3×3
# neighbourhood on an isotropic grid), at most 124 (all within 8 of the finest voxel sizes). A
# batch costs ~0.3 µs per voxel still looking, a tree query several µs: the next batch is looked
# at only while the last one resolved at least 10% of the voxels it started with.
_OFFSET_BATCH = 26
_OFFSET_COUNT = 124
_OFFSET_REACH_VOXELS = 8
_MIN_BATCH_YIELD = 0.1


def _points(flat: np.ndarray, shape: Sequence[int], spacing: np.ndarray) -> np.ndarray:
    """``(n, ndim)`` float64 voxel-centre coordinates in mm."""
    return np.column_stack(np.unravel_index(flat, tuple(shape))) * spacing


class SurfaceSide:
    """One class's surface on one mask, with each voxel's distance to the other mask's surface.

    Attributes
    ----------
    flat : numpy.ndarray
        ``(n,)`` int64 flat indices of the surface voxels, ascending.
    distances : numpy.ndarray
        ``(n,)`` float64 distance in mm to the nearest voxel of the other surface, NaN while unknown.
    """

    __slots__ = ("_tree", "distances", "flat")

    def __init__(self, flat: np.ndarray) -> None:
        self.flat = flat
        self.distances = np.full(flat.size, np.nan)
        self._tree: cKDTree | None = None

    def tree(self, shape: Sequence[int], spacing: np.ndarray) -> cKDTree:
        """k-d tree over this surface's voxel centres in mm (built on first use after a change)."""
        if self._tree is None:
            self._tree = cKDTree(
                _points(self.flat, shape, spacing), leafsize=32, balanced_tree=False, compact_nodes=False
            )
        return self._tree

    def replace_in_box(self, box: Box, new_flat: np.ndarray, shape: Sequence[int]) -> None:
        """Replace the surface voxels inside ``box`` by ``new_flat`` (all inside ``box``)."""
        kept = outside_box(self.flat, box, shape)
        flat = np.concatenate([self.flat[kept], new_flat])
        distances = np.concatenate([self.distances[kept], np.full(new_flat.size, np.nan)])
        order = np.argsort(flat, kind="stable")
        self.flat, self.distances = flat[order], distances[order]
        self._tree = None

    def forget_near(self, box: Box, shape: Sequence[int], spacing: np.ndarray) -> None:
        """Mark unknown every distance that a change of the other surface inside ``box`` may alter."""
        known = np.flatnonzero(~np.isnan(self.distances))
        if known.size == 0:
            return
        reach = distance_to_box(self.flat[known], box, shape, spacing)
        current = self.distances[known]
        self.distances[known[reach <= current * (1 + _KEEP_MARGIN) + _KEEP_MARGIN]] = np.nan

    def fill_distances(self, other: SurfaceSide, shape: Sequence[int], spacing: np.ndarray) -> None:
        """Compute every unknown distance to ``other`` (which must not be empty).

        ``other``'s voxels are marked in a boolean grid over the box around both surfaces. A
        voxel on both surfaces gets 0; the others look at the grid offsets nearest first
        (:func:`nearest_offsets`): the first offset that hits is the exact distance, because every
        shorter offset was looked at before. Voxels without a hit go to a k-d tree over ``other``.
        """
        unknown = np.flatnonzero(np.isnan(self.distances))
        if unknown.size == 0:
            return
        offsets, lengths = nearest_offsets(spacing)
        margin = np.abs(offsets).max(axis=0, initial=0)
        mine = np.unravel_index(self.flat[unknown], tuple(shape))
        theirs = np.unravel_index(other.flat, tuple(shape))
        low = [min(a.min(), b.min()) - m for a, b, m in zip(mine, theirs, margin.tolist(), strict=True)]
        dims = tuple(
            int(max(a.max(), b.max()) + m + 1 - lo)
            for a, b, m, lo in zip(mine, theirs, margin.tolist(), low, strict=True)
        )
        grid = np.zeros(int(np.prod(dims)), dtype=bool)
        grid[np.ravel_multi_index(tuple(c - lo for c, lo in zip(theirs, low, strict=True)), dims)] = True
        local = np.ravel_multi_index(tuple(c - lo for c, lo in zip(mine, low, strict=True)), dims)
        shared = grid[local]
        self.distances[unknown[shared]] = 0.0
        unknown, local = unknown[~shared], local[~shared]
        steps = offsets @ np.array([int(np.prod(dims[a + 1 :])) for a in range(len(dims))], dtype=np.int64)
        for batch in range(0, steps.size, _OFFSET_BATCH):
            looking = unknown.size
            for step, length in zip(
                steps[batch : batch + _OFFSET_BATCH].tolist(),
                lengths[batch : batch + _OFFSET_BATCH].tolist(),
                strict=True,
            ):
                hit = grid[local + step]
                self.distances[unknown[hit]] = length
                unknown, local = unknown[~hit], local[~hit]
            if looking - unknown.size < _MIN_BATCH_YIELD * looking:
                break
        if unknown.size:
            found, _ = other.tree(shape, spacing).query(_points(self.flat[unknown], shape, spacing), k=1)
            self.distances[unknown] = found


def nearest_offsets(spacing: np.ndarray, count: int = _OFFSET_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` shortest non-zero grid offsets, shortest first, with their lengths in mm.

    Every offset shorter than the last one returned is among them (the list is a prefix of all
    offsets sorted by length), which is what makes "first hit = nearest" exact.

    Returns
    -------
    offsets : numpy.ndarray
        ``(k, ndim)`` int64 voxel offsets, ``k <= count`` (read-only, cached per spacing).
    lengths : numpy.ndarray
        ``(k,)`` float64 lengths in mm, ascending (read-only).
    """
    return _nearest_offsets(tuple(float(s) for s in spacing), count)


@functools.lru_cache(maxsize=16)
def _nearest_offsets(spacing: tuple[float, ...], count: int) -> tuple[np.ndarray, np.ndarray]:
    steps = np.array(spacing)
    reach = _OFFSET_REACH_VOXELS * steps.min()
    half = np.maximum(np.ceil(reach / steps).astype(np.int64), 1)
    axes = np.meshgrid(*[np.arange(-h, h + 1) for h in half.tolist()], indexing="ij")
    offsets = np.stack([a.ravel() for a in axes], axis=1)
    lengths = np.sqrt(((offsets * steps) ** 2).sum(axis=1))
    within = (lengths > 0) & (lengths <= reach)
    order = np.argsort(lengths[within], kind="stable")[:count]
    offsets, lengths = offsets[within][order], lengths[within][order]
    offsets.flags.writeable = False
    lengths.flags.writeable = False
    return offsets, lengths


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

    def summary(self, shape: Sequence[int], spacing: np.ndarray, tolerances: Sequence[float]) -> np.ndarray:
        """``(4 + T,)`` float64 figures as :func:`summarize`; all NaN when either surface is empty."""
        if self._summary is None:
            if self.gt.flat.size == 0 or self.pred.flat.size == 0:
                self._summary = np.full(4 + len(tolerances), np.nan)
            else:
                self.gt.fill_distances(self.pred, shape, spacing)
                self.pred.fill_distances(self.gt, shape, spacing)
                self._summary = summarize(self.gt.distances, self.pred.distances, tolerances)
        return self._summary
