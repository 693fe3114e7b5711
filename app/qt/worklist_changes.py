"""Which voxels of a case's masks differ from the masks as the case opened: ``voxels_changed`` of a verdict.

:class:`ChangedVoxels` follows the edit model's deltas (``EditBridge.painted``) and keeps, for every
voxel an edit ever touched, its label when the case opened. The voxels changed are those whose label
now differs from it: a stroke undone, or painted over and back, counts nothing. Cost: proportional to
the voxels edited, never to the volume. Bookkeeping of edits, not a metric.
"""

from __future__ import annotations

import numpy as np


class ChangedVoxels:
    """Original labels of the touched voxels of one case, per mask (``"pred"``, ``"gt"``).

    Parameters
    ----------
    shape : tuple of int
        The masks' ``(z, y, x)`` shape.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(int(n) for n in shape)
        empty = np.empty(0, np.int64)
        self._indices = {"pred": empty, "gt": empty}   # sorted flat indices of touched voxels
        self._original = {"pred": np.empty(0, np.int64), "gt": np.empty(0, np.int64)}

    def add(self, delta) -> None:
        """Record ``delta`` (``which``, ``region``, ``old_values``, ``new_values``): originals of new voxels."""
        changed = np.nonzero(np.asarray(delta.old_values) != np.asarray(delta.new_values))
        if changed[0].size == 0:
            return
        starts = [region.start or 0 for region in delta.region]
        coordinates = tuple(axis + start for axis, start in zip(changed, starts, strict=True))
        flat = np.ravel_multi_index(coordinates, self.shape).astype(np.int64)
        self.add_flat(delta.which, flat, np.asarray(delta.old_values)[changed])

    def add_flat(self, which: str, flat: np.ndarray, old_values: np.ndarray) -> None:
        """Record voxels ``flat`` (``(N,)`` flat C-order indices) of mask ``which`` whose labels were
        ``old_values`` (``(N,)``) before they were written: originals of voxels not seen before. A journal
        record (crash recovery replays them before the case is shown) is recorded this way."""
        flat = np.asarray(flat, np.int64)
        old = np.asarray(old_values).astype(np.int64)
        known = self._indices[which]
        new = ~np.isin(flat, known, assume_unique=False)
        if not new.any():
            return
        flat, first = np.unique(flat[new], return_index=True)   # a voxel's first value is its original
        indices = np.concatenate([known, flat])
        original = np.concatenate([self._original[which], old[new][first]])
        order = np.argsort(indices, kind="stable")
        self._indices[which], self._original[which] = indices[order], original[order]

    def count(self, which: str, mask: np.ndarray) -> int:
        """Voxels of mask ``which`` whose label in ``mask`` (its current ``(z, y, x)`` array) is not the original."""
        indices = self._indices[which]
        if indices.size == 0:
            return 0
        return int(np.count_nonzero(mask.reshape(-1)[indices] != self._original[which]))
