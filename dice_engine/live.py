"""LiveDice: Dice that follows edits exactly, at a cost proportional to the edit.

The state is one ``(C, C)`` confusion matrix plus, per slice axis asked for, ``(S, C, 3)``
(TP, FP, FN) counts. An edit of a region subtracts the region's old (ground truth, prediction)
pairs and adds its new ones, so after any sequence of edits the state equals a recomputation
from scratch, exactly (integer counts). Per-axis slice counts are built on first use and then
maintained the same way. The ground truth and prediction are given by keyword only,
``LiveDice(target=gt, preds=pred)`` (see :mod:`dice_engine`).
"""

from __future__ import annotations

import numpy as np
import torch

from dice_engine._inputs import ArrayLike, as_labels, check_label_range, normalise_region
from dice_engine.confusion import (
    local_slice_counts,
    pair_counts,
    prepare_pair,
    row_class_counts,
    slice_counts_of,
)
from dice_engine.device import device_name, run_with_cpu_fallback, select_device
from dice_engine.metrics import dice_from_confusion, dice_from_counts

WHICH = ("pred", "gt")

#: An edit whose region holds at least this many voxels, of which at most one in
#: ``SCATTERED_EDIT_RATIO`` changes (a threshold re-derived over the whole volume), is counted over
#: its changed voxels only: the unchanged ones add and subtract the same pairs.
SCATTERED_EDIT_VOXELS = 1 << 20
SCATTERED_EDIT_RATIO = 4


class LiveDice:
    """Incremental confusion matrix and per-slice counts of a (ground truth, prediction) pair.

    Parameters
    ----------
    target : array-like of int
        Ground-truth label map, any number of dimensions (e.g. ``(z, y, x)``). Copied: the
        caller's array is never modified. Keyword-only, as every argument.
    preds : array-like of int
        Predicted label map, same shape. Keyword-only.
    num_classes : int, optional
        ``C``; inferred as the largest label + 1 when ``None``. Edits must stay below it.
    device : str or torch.device, optional
        Where the state lives; default :func:`~dice_engine.device.select_device` (CUDA, MPS,
        CPU). A GPU out-of-memory falls back to the CPU with a warning.
    ignore_index : int, optional
        Ground-truth value meaning "not annotated": excluded from every count.

    Examples
    --------
    >>> live = LiveDice(target=[[0, 1], [1, 1]], preds=[[0, 1], [0, 0]], num_classes=2, device="cpu")
    >>> delta = live.apply_edit((slice(1, 2), slice(0, 2)), [[1, 1]])
    >>> live.confusion.tolist()
    [[1, 0], [0, 3]]
    """

    def __init__(
        self,
        *,
        target: ArrayLike,
        preds: ArrayLike,
        num_classes: int | None = None,
        device=None,
        ignore_index: int | None = None,
    ) -> None:
        target_t, preds_t, self.num_classes = prepare_pair(target, preds, num_classes, ignore_index)
        self.ignore_index = ignore_index
        self.shape = tuple(target_t.shape)
        self._dtype = _state_dtype(self.num_classes, ignore_index)
        (self._target, self._preds, self._confusion), self.device = run_with_cpu_fallback(
            lambda dev: self._build(target_t, preds_t, dev), select_device(device)
        )
        self._slices: dict[int, torch.Tensor] = {}

    @property
    def device_name(self) -> str:
        """``"CPU"`` or the GPU's name."""
        return device_name(self.device)

    @property
    def confusion(self) -> torch.Tensor:
        """Current ``(C, C) int64`` confusion matrix, rows = ground truth (a copy)."""
        return self._confusion.clone()

    @property
    def target(self) -> torch.Tensor:
        """Current ground-truth labels on the engine's device (read-only view: edit via apply_edit)."""
        return self._target

    @property
    def preds(self) -> torch.Tensor:
        """Current predicted labels on the engine's device (read-only view: edit via apply_edit)."""
        return self._preds

    def dice(self) -> torch.Tensor:
        """Per-class Dice, ``(C,) float64``, NaN where a class is absent from both masks."""
        return dice_from_confusion(self._confusion)

    def slice_counts(self, axis: int = 0) -> torch.Tensor:
        """Per-slice (TP, FP, FN) along ``axis``: ``(S, C, 3) int64`` (a copy).

        Built from scratch on the first call for an axis, then kept up to date by every edit.
        """
        return self._slice_state(axis).clone()

    def slice_dice(self, axis: int = 0) -> torch.Tensor:
        """Per-slice Dice along ``axis``: ``(S, C) float64``, NaN where absent from both in that slice."""
        counts = self._slice_state(axis)
        return dice_from_counts(counts[..., 0], counts[..., 1], counts[..., 2])

    def pair_slice_counts(self, gt_label: int, pred_label: int, axis: int = 0) -> torch.Tensor:
        """Voxels with ground truth ``gt_label`` and prediction ``pred_label`` in each slice.

        Returns
        -------
        torch.Tensor
            ``(S,) int64`` along ``axis`` (for jumping to the slice holding most of a confusion cell).
        """
        axis = self._check_axis(axis)
        hits = (self._target == gt_label) & (self._preds == pred_label)
        if self.ignore_index is not None and gt_label == self.ignore_index:
            hits = torch.zeros_like(hits)
        other = [d for d in range(len(self.shape)) if d != axis]
        return hits.sum(dim=other, dtype=torch.int64) if other else hits.to(torch.int64)

    def apply_edit(self, region, new_values: ArrayLike, which: str = "pred") -> torch.Tensor:
        """Write ``new_values`` into ``region`` of one mask and update every count exactly.

        Parameters
        ----------
        region : tuple of slice
            One slice per dimension (fewer: the rest are whole), step 1, e.g.
            ``(slice(z, z + 1), slice(y0, y1), slice(x0, x1))``.
        new_values : array-like of int
            The region's new labels, shape = the region's shape.
        which : {"pred", "gt"}
            The mask edited.

        Returns
        -------
        torch.Tensor
            The ``(C, C) int64`` change of the confusion matrix.
        """
        if which not in WHICH:
            raise ValueError(f"which must be 'pred' or 'gt', got {which!r}")
        region = self._normalise_region(region)
        mask = self._preds if which == "pred" else self._target
        old_target, old_preds = self._target[region], self._preds[region]
        new = as_labels(new_values, "new_values")
        if tuple(new.shape) != tuple(old_target.shape):
            raise ValueError(
                f"new_values has shape {tuple(new.shape)}, but the region has shape {tuple(old_target.shape)}"
            )
        check_label_range(new, self.num_classes, "new_values", self.ignore_index if which == "gt" else None)
        if new.numel() == 0:
            return torch.zeros_like(self._confusion)
        new = new.to(self.device, self._dtype)
        if new.numel() >= SCATTERED_EDIT_VOXELS:
            changed = _changed_positions(new, old_preds if which == "pred" else old_target)
            if changed.shape[0] * SCATTERED_EDIT_RATIO <= new.numel():
                return self._apply_scattered(region, changed, new, which)
        new_target, new_preds = (old_target, new) if which == "pred" else (new, old_preds)

        delta = self._pair_counts(new_target, new_preds) - self._pair_counts(old_target, old_preds)
        for axis, counts in self._slices.items():
            start = region[axis].start
            stop = region[axis].stop
            counts[start:stop] += self._region_slice_counts(new_target, new_preds, axis)
            counts[start:stop] -= self._region_slice_counts(old_target, old_preds, axis)
        self._confusion += delta
        mask[region] = new
        return delta

    def _apply_scattered(self, region, changed: torch.Tensor, new: torch.Tensor, which: str) -> torch.Tensor:
        """Count an edit over its changed voxels only (``changed``: ``(K, ndim) int64`` positions in the region)."""
        where = tuple(changed.unbind(1))
        old_target, old_preds = self._target[region][where], self._preds[region][where]
        new_values = new[where]
        new_target, new_preds = (old_target, new_values) if which == "pred" else (new_values, old_preds)
        delta = self._pair_counts(new_target, new_preds) - self._pair_counts(old_target, old_preds)
        for axis, counts in self._slices.items():
            rows = changed[:, axis] + region[axis].start
            counts += row_class_counts(rows, new_target, new_preds, counts.shape[0], self.num_classes,
                                       self.ignore_index)
            counts -= row_class_counts(rows, old_target, old_preds, counts.shape[0], self.num_classes,
                                       self.ignore_index)
        self._confusion += delta
        (self._preds if which == "pred" else self._target)[region][where] = new_values
        return delta

    def _build(self, target: torch.Tensor, preds: torch.Tensor, device: torch.device):
        target_d = target.to(device=device, dtype=self._dtype, copy=True).contiguous()
        preds_d = preds.to(device=device, dtype=self._dtype, copy=True).contiguous()
        confusion = pair_counts(target_d.reshape(-1), preds_d.reshape(-1), self.num_classes, self.ignore_index)
        return target_d, preds_d, confusion

    def _slice_state(self, axis: int) -> torch.Tensor:
        axis = self._check_axis(axis)
        if axis not in self._slices:
            self._slices[axis] = slice_counts_of(
                self._target, self._preds, self.num_classes, axis, self.ignore_index
            )
        return self._slices[axis]

    def _pair_counts(self, target: torch.Tensor, preds: torch.Tensor) -> torch.Tensor:
        return pair_counts(target.reshape(-1), preds.reshape(-1), self.num_classes, self.ignore_index)

    def _region_slice_counts(self, target: torch.Tensor, preds: torch.Tensor, axis: int) -> torch.Tensor:
        target_m, preds_m = target.movedim(axis, 0), preds.movedim(axis, 0)
        rows = target_m.shape[0]
        return local_slice_counts(
            target_m.reshape(rows, -1), preds_m.reshape(rows, -1), self.num_classes, self.ignore_index
        )

    def _check_axis(self, axis: int) -> int:
        ndim = len(self.shape)
        if not -ndim <= axis < ndim:
            raise ValueError(f"axis {axis} is out of range for a {ndim}-D volume")
        return axis % ndim

    def _normalise_region(self, region) -> tuple[slice, ...]:
        return normalise_region(region, self.shape)


def _changed_positions(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``(K, ndim) int64`` positions where two same-shaped label tensors differ (numpy on the CPU:
    several times faster than torch's boolean reductions over a whole volume)."""
    if new.device.type != "cpu":
        return (new != old).nonzero()
    flat = np.flatnonzero(np.not_equal(new.numpy(), old.numpy()))
    return torch.from_numpy(np.stack(np.unravel_index(flat, tuple(new.shape)), axis=1).astype(np.int64))


def _state_dtype(num_classes: int, ignore_index: int | None) -> torch.dtype:
    """Smallest dtype holding every label (and ``ignore_index``)."""
    largest = max(num_classes - 1, ignore_index or 0)
    if largest < 256:
        return torch.uint8
    if largest < 2**15:
        return torch.int16
    if largest < 2**31:
        return torch.int32
    return torch.int64
