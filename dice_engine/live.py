"""LiveDice: Dice that follows edits exactly, at a cost proportional to the edit.

The state is one ``(C, C)`` confusion matrix plus, per slice axis asked for, ``(S, C, 3)``
(TP, FP, FN) counts. An edit of a region subtracts the region's old (ground truth, prediction)
pairs and adds its new ones, so after any sequence of edits the state equals a recomputation
from scratch, exactly (integer counts). Per-axis slice counts are built on first use and then
maintained the same way. The ground truth and prediction are given by keyword only,
``LiveDice(target=gt, preds=pred)`` (see :mod:`dice_engine`).

On a GPU the label volumes live on the device, where whole-volume work runs (the first count, a new
axis's slice counts, large edits), beside a host mirror of them; the counts always live on the host.
A small edit (a brush dab, at most :data:`~dice_engine.confusion.SMALL_VOXELS` voxels) is checked,
counted and written by numpy alone, through numpy views of the host volumes and counts (on any device:
torch's per-call cost on a tiny tensor is several times numpy's); on a GPU it is written to the host mirror
only, and the device copy of its box is brought up to date before the device volumes are next used. On a
GPU a dab's dozen kernel launches and host synchronisations cost far more than its counting (2.2 ms per
dab on an H200; docs/architecture.md §5).
"""

from __future__ import annotations

import numpy as np
import torch

from dice_engine._inputs import ArrayLike, as_labels, check_label_range, label_range_error, normalise_region
from dice_engine.confusion import SMALL_VOXELS, pair_counts, prepare_pair
from dice_engine.device import device_name, run_with_cpu_fallback, select_device
from dice_engine.metrics import dice_from_confusion, dice_from_counts
from dice_engine.per_slice import box_edit_counts, local_slice_counts, row_class_counts, slice_counts_of

WHICH = ("pred", "gt")

#: An edit whose region holds at least this many voxels, of which at most one in
#: ``SCATTERED_EDIT_RATIO`` changes (a threshold re-derived over the whole volume), is counted over
#: its changed voxels only: the unchanged ones add and subtract the same pairs.
SCATTERED_EDIT_VOXELS = 1 << 20
SCATTERED_EDIT_RATIO = 4

#: On a GPU, more boxes than this written by small edits since the device volumes were last used are
#: copied there as one bounding box per mask.
STALE_BOXES = 64


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
        Where the label volumes live and whole-volume counts run; default
        :func:`~dice_engine.device.select_device` (CUDA, MPS, CPU). A GPU out-of-memory falls back
        to the CPU with a warning. The counts are kept on the host whatever the device.
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
        if self.device.type == "cpu":
            self._host_target, self._host_preds = self._target, self._preds
        else:
            self._host_target = target_t.to(device="cpu", dtype=self._dtype, copy=True).contiguous()
            self._host_preds = preds_t.to(device="cpu", dtype=self._dtype, copy=True).contiguous()
        # numpy views of the host volumes and of the matrix (same memory): a small edit is counted and
        # written through them without a torch call (torch's per-call cost is several times numpy's).
        self._host_arrays = {"gt": self._host_target.numpy(), "pred": self._host_preds.numpy()}
        self._confusion_array = self._confusion.numpy()
        self._slices: dict[int, torch.Tensor] = {}
        self._stale: list[tuple[str, tuple[slice, ...]]] = []  # boxes written to the host mirror only

    @property
    def device_name(self) -> str:
        """``"CPU"`` or the GPU's name."""
        return device_name(self.device)

    @property
    def confusion(self) -> torch.Tensor:
        """Current ``(C, C) int64`` confusion matrix on the CPU, rows = ground truth (a copy)."""
        return self._confusion.clone()

    @property
    def target(self) -> torch.Tensor:
        """Current ground-truth labels on the engine's device (read-only view: edit via apply_edit)."""
        self._refresh_device()
        return self._target

    @property
    def preds(self) -> torch.Tensor:
        """Current predicted labels on the engine's device (read-only view: edit via apply_edit)."""
        self._refresh_device()
        return self._preds

    def dice(self) -> torch.Tensor:
        """Per-class Dice, ``(C,) float64``, NaN where a class is absent from both masks."""
        return dice_from_confusion(self._confusion)

    def slice_counts(self, axis: int = 0) -> torch.Tensor:
        """Per-slice (TP, FP, FN) along ``axis``: ``(S, C, 3) int64`` on the CPU (a copy).

        Built from scratch on the first call for an axis, then kept up to date by every edit.
        """
        return self._slice_state(axis).clone()

    def slice_count_rows(self, axis: int, start: int, stop: int) -> np.ndarray:
        """Per-slice (TP, FP, FN) of the slices ``start .. stop - 1`` along ``axis`` (a numpy copy).

        The rows of :meth:`slice_counts` an edit touched, without copying the whole axis or a torch call
        (the worker's result of a brush segment, docs/architecture.md §3).

        Returns
        -------
        numpy.ndarray
            ``(stop - start, C, 3) int64`` (``start``/``stop`` clipped to the axis as Python slicing does).
        """
        return self._slice_state(axis).numpy()[start:stop].copy()

    def confusion_array(self) -> np.ndarray:
        """Current ``(C, C) int64`` confusion matrix as a numpy copy (:attr:`confusion` without torch)."""
        return self._confusion_array.copy()

    def slice_dice(self, axis: int = 0) -> torch.Tensor:
        """Per-slice Dice along ``axis``: ``(S, C) float64``, NaN where absent from both in that slice."""
        counts = self._slice_state(axis)
        return dice_from_counts(counts[..., 0], counts[..., 1], counts[..., 2])

    def pair_slice_counts(self, gt_label: int, pred_label: int, axis: int = 0) -> torch.Tensor:
        """Voxels with ground truth ``gt_label`` and prediction ``pred_label`` in each slice.

        Returns
        -------
        torch.Tensor
            ``(S,) int64`` on the CPU, along ``axis`` (for jumping to the slice holding most of a
            confusion cell).
        """
        axis = self._check_axis(axis)
        self._refresh_device()
        hits = (self._target == gt_label) & (self._preds == pred_label)
        if self.ignore_index is not None and gt_label == self.ignore_index:
            hits = torch.zeros_like(hits)
        other = [d for d in range(len(self.shape)) if d != axis]
        return (hits.sum(dim=other, dtype=torch.int64) if other else hits.to(torch.int64)).cpu()

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
        small = _small_labels(new_values, region, self.num_classes, self.ignore_index if which == "gt" else None)
        if small is not None:
            labels = small.astype(self._host_arrays[which].dtype, copy=False)
            return torch.from_numpy(self._apply_small(region, labels, which))
        new = as_labels(new_values, "new_values")
        shape = tuple(self._host_target[region].shape)
        if tuple(new.shape) != shape:
            raise ValueError(f"new_values has shape {tuple(new.shape)}, but the region has shape {shape}")
        check_label_range(new, self.num_classes, "new_values", self.ignore_index if which == "gt" else None)
        if new.numel() == 0:
            return torch.zeros_like(self._confusion)
        new = new.to(device="cpu", dtype=self._dtype)
        if new.numel() <= SMALL_VOXELS and new.numel() < SCATTERED_EDIT_VOXELS:
            return torch.from_numpy(self._apply_small(region, new.numpy(), which))
        self._refresh_device()
        counted = new.to(self.device)  # the volumes' device, where a large edit is counted
        old_target, old_preds = self._target[region], self._preds[region]
        if new.numel() >= SCATTERED_EDIT_VOXELS:
            changed = _changed_positions(counted, old_preds if which == "pred" else old_target)
            if changed.shape[0] * SCATTERED_EDIT_RATIO <= new.numel():
                return self._apply_scattered(region, changed, counted, new, which)
        new_target, new_preds = (old_target, counted) if which == "pred" else (counted, old_preds)

        delta = (self._pair_counts(new_target, new_preds) - self._pair_counts(old_target, old_preds)).cpu()
        for axis, counts in self._slices.items():
            change = (self._region_slice_counts(new_target, new_preds, axis)
                      - self._region_slice_counts(old_target, old_preds, axis))
            counts[region[axis].start : region[axis].stop] += change.cpu()
        self._confusion += delta
        self._write(region, new, counted, which)
        return delta

    def _apply_small(self, region, new_labels: np.ndarray, which: str) -> np.ndarray:
        """Count a small edit (a brush dab) on the host by numpy alone (:func:`~dice_engine.per_slice.box_edit_counts`).

        ``new_labels``: the region's checked new labels (numpy, the volumes' dtype). Returns the ``(C, C) int64``
        change of the matrix. Everything is read and written through numpy views of the host volumes and
        counts: no torch call.
        """
        old_target, old_preds = self._host_arrays["gt"][region], self._host_arrays["pred"][region]
        new_pair = (old_target, new_labels) if which == "pred" else (new_labels, old_preds)
        delta, slices = box_edit_counts((old_target, old_preds), new_pair, self.num_classes, self._slices,
                                        self.ignore_index)
        for axis, change in slices.items():
            self._slices[axis].numpy()[region[axis].start : region[axis].stop] += change
        self._confusion_array += delta
        self._host_arrays[which][region] = new_labels
        if self.device.type != "cpu":
            self._stale.append((which, region))
        return delta

    def _refresh_device(self) -> None:
        """Copy the boxes that small edits wrote to the host mirror only onto the device volumes."""
        if not self._stale:
            return
        if len(self._stale) > STALE_BOXES:  # many dabs: one copy of their bounding box per mask
            merged = {}
            for which, region in self._stale:
                box = merged.get(which, region)
                merged[which] = tuple(slice(min(a.start, b.start), max(a.stop, b.stop))
                                      for a, b in zip(box, region, strict=True))
            self._stale = list(merged.items())
        for which, region in self._stale:
            volume, mirror = (self._preds, self._host_preds) if which == "pred" else (self._target, self._host_target)
            volume[region] = mirror[region].to(self.device)
        self._stale = []

    def _apply_scattered(self, region, changed: torch.Tensor, counted: torch.Tensor, new: torch.Tensor,
                         which: str) -> torch.Tensor:
        """Count an edit over its changed voxels only.

        ``changed``: ``(K, ndim) int64`` positions in the region; ``counted``: the region's new labels,
        both on the engine's device; ``new``: the same labels on the CPU.
        """
        where = tuple(changed.unbind(1))
        old_target, old_preds = self._target[region][where], self._preds[region][where]
        new_values = counted[where]
        new_target, new_preds = (old_target, new_values) if which == "pred" else (new_values, old_preds)
        delta = (self._pair_counts(new_target, new_preds) - self._pair_counts(old_target, old_preds)).cpu()
        for axis, counts in self._slices.items():
            rows = changed[:, axis] + region[axis].start
            change = (row_class_counts(rows, new_target, new_preds, counts.shape[0], self.num_classes,
                                       self.ignore_index)
                      - row_class_counts(rows, old_target, old_preds, counts.shape[0], self.num_classes,
                                         self.ignore_index))
            counts += change.cpu()
        self._confusion += delta
        if self.device.type == "cpu":
            (self._preds if which == "pred" else self._target)[region][where] = new_values
        else:
            self._write(region, new, counted, which)
        return delta

    def _write(self, region, new: torch.Tensor, counted: torch.Tensor, which: str) -> None:
        """Store a region's new labels (``new`` on the CPU, ``counted`` on the engine's device) in the
        volume and, on a GPU, in its host mirror."""
        volume, mirror = (self._preds, self._host_preds) if which == "pred" else (self._target, self._host_target)
        volume[region] = counted
        if mirror is not volume:
            mirror[region] = new

    def _build(self, target: torch.Tensor, preds: torch.Tensor, device: torch.device):
        target_d = target.to(device=device, dtype=self._dtype, copy=True).contiguous()
        preds_d = preds.to(device=device, dtype=self._dtype, copy=True).contiguous()
        confusion = pair_counts(target_d.reshape(-1), preds_d.reshape(-1), self.num_classes, self.ignore_index)
        return target_d, preds_d, confusion.cpu()

    def _slice_state(self, axis: int) -> torch.Tensor:
        axis = self._check_axis(axis)
        if axis not in self._slices:
            self._refresh_device()
            self._slices[axis] = slice_counts_of(
                self._target, self._preds, self.num_classes, axis, self.ignore_index
            ).cpu()
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


def _small_labels(values, region: tuple[slice, ...], num_classes: int, ignore_index: int | None) -> np.ndarray | None:
    """``values`` checked as a small edit's new labels by numpy alone, or None when the torch path takes them.

    Taken here: a non-empty integer or boolean numpy array of at most :data:`SMALL_VOXELS` voxels (a brush
    dab) and below :data:`SCATTERED_EDIT_VOXELS`. The checks and messages are those of the torch path
    (:func:`~dice_engine._inputs.as_labels`, the region's shape, :func:`~dice_engine._inputs.check_label_range`),
    in that order.

    Parameters
    ----------
    values : object
        The edit's ``new_values``.
    region : tuple of slice
        The normalised region (step-1 slices with explicit bounds).
    num_classes : int
        ``C``: labels must stay below it.
    ignore_index : int or None
        The value also allowed (a ground-truth edit's "not annotated"), else None.

    Returns
    -------
    numpy.ndarray or None
        ``values`` itself (not copied), shape = the region's shape.
    """
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "iub":
        return None
    if not 0 < values.size <= SMALL_VOXELS or values.size >= SCATTERED_EDIT_VOXELS:
        return None
    low = int(values.min()) if values.dtype.kind == "i" else 0
    if low < 0:
        raise ValueError(f"new_values: labels must be >= 0, found {low}")
    shape = tuple(part.stop - part.start for part in region)
    if values.shape != shape:
        raise ValueError(f"new_values has shape {values.shape}, but the region has shape {shape}")
    largest = int(values.max())
    if largest >= num_classes and ignore_index is not None:
        kept = values[values != ignore_index]
        largest = int(kept.max()) if kept.size else -1
    if largest >= num_classes:
        raise ValueError(label_range_error("new_values", largest, num_classes))
    return values


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
