"""Per-slice counts: (TP, FP, FN) of every class in every slice along an axis, and a small edit's change.

The slice-wise half of the counting kernels (the whole-volume ``(C, C)`` matrix and the chunk pool are in
:mod:`dice_engine.confusion`): ``(S, C, 3) int64`` counts per slice, last axis = (TP, FP, FN), on the
inputs' device, and :func:`box_edit_counts`, the numpy count of how a brush dab changes both the matrix
and the per-slice counts (docs/architecture.md §5). Label maps are keyword-only in the public
:func:`slice_counts`, as everywhere in the engine's API.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dice_engine._inputs import ArrayLike
from dice_engine.confusion import chunk_voxels, is_small_on_cpu, map_chunks, prepare_pair, sum_chunks

PER_SLICE_CONFUSION_BINS = 1 << 21
"""Largest ``S × C × C`` counted as per-slice confusion matrices in one pass (16 MB of int64)."""


def slice_counts(
    *,
    target: ArrayLike,
    preds: ArrayLike,
    num_classes: int | None = None,
    axis: int = 0,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Per-slice TP, FP and FN of every class along one axis.

    Parameters
    ----------
    target, preds : array-like of int, same shape
        Label maps with at least one dimension.
    num_classes : int, optional
        ``C``; inferred when ``None``.
    axis : int
        The axis whose index is the slice number.
    ignore_index : int, optional
        Target value excluded from every count.

    Returns
    -------
    torch.Tensor
        ``(S, C, 3) int64``, ``S = shape[axis]``; last axis = (TP, FP, FN) of the class in that slice.
    """
    target_t, preds_t, num_classes = prepare_pair(target, preds, num_classes, ignore_index)
    if preds_t.device != target_t.device:
        preds_t = preds_t.to(target_t.device)
    return slice_counts_of(target_t, preds_t, num_classes, axis, ignore_index)


def slice_counts_of(
    target: torch.Tensor, preds: torch.Tensor, num_classes: int, axis: int, ignore_index=None
) -> torch.Tensor:
    """Per-slice (TP, FP, FN) of two validated label tensors (the kernel of :func:`slice_counts`).

    When ``S × C × C`` is small (up to :data:`PER_SLICE_CONFUSION_BINS`), one ``bincount`` of
    ``slice * C² + target * C + preds`` over contiguous chunks gives per-slice confusion
    matrices, whatever the axis (no transposed copies); otherwise three narrower bincounts
    per chunk count TP, ground-truth and predicted voxels per (slice, class).

    Parameters
    ----------
    target, preds : torch.Tensor
        Integer label tensors of equal shape on one device, labels in ``0..C-1``.
    num_classes : int
        ``C``.
    axis : int
        Slice axis.
    ignore_index : int, optional
        Target value excluded from the counts.

    Returns
    -------
    torch.Tensor
        ``(S, C, 3) int64``.
    """
    axis %= max(target.dim(), 1)
    n_slices = target.shape[axis]
    if n_slices * num_classes * num_classes <= PER_SLICE_CONFUSION_BINS:
        per_slice = _per_slice_confusion(target, preds, num_classes, axis, ignore_index)
        tp = torch.diagonal(per_slice, dim1=1, dim2=2)
        return torch.stack((tp, per_slice.sum(dim=1) - tp, per_slice.sum(dim=2) - tp), dim=-1)
    target_m = target.movedim(axis, 0)
    preds_m = preds.movedim(axis, 0)
    voxels_per_slice = math.prod(target_m.shape[1:])
    step = max(1, chunk_voxels(target.device) // max(voxels_per_slice, 1))

    def count(start: int) -> torch.Tensor:
        stop = min(start + step, n_slices)
        return local_slice_counts(
            target_m[start:stop].reshape(stop - start, voxels_per_slice),
            preds_m[start:stop].reshape(stop - start, voxels_per_slice),
            num_classes,
            ignore_index,
        )

    starts = list(range(0, n_slices, step))
    if not starts:
        return torch.zeros((0, num_classes, 3), dtype=torch.int64, device=target.device)
    return torch.cat(map_chunks(count, starts, target.device), dim=0)


def _per_slice_confusion(
    target: torch.Tensor, preds: torch.Tensor, num_classes: int, axis: int, ignore_index=None
) -> torch.Tensor:
    """``(S, C, C) int64`` confusion matrix of every slice along ``axis`` (rows = target)."""
    n_slices = target.shape[axis]
    pairs = num_classes * num_classes
    sentinel = n_slices * pairs
    index_dtype = torch.int32 if sentinel < 2**31 - 1 else torch.int64
    target = target.contiguous()
    preds = preds.contiguous()
    rows = max(1, chunk_voxels(target.device) // max(math.prod(target.shape[1:]), 1))
    offset_shape = [1] * target.dim()
    offset_shape[axis] = -1

    def count(start: int) -> torch.Tensor:
        chunk_target = target[start : start + rows]
        chunk_preds = preds[start : start + rows]
        positions = torch.arange(chunk_target.shape[axis], device=target.device, dtype=index_dtype)
        if axis == 0:
            positions = positions + start
        index = chunk_target.to(index_dtype) * num_classes + chunk_preds.to(index_dtype)
        index += (positions * pairs).view(offset_shape)
        if ignore_index is not None:
            index = index.masked_fill(chunk_target == ignore_index, sentinel)
        return torch.bincount(index.reshape(-1), minlength=sentinel + 1)

    starts = list(range(0, target.shape[0], rows)) if target.numel() else []
    counts = sum_chunks(count, starts, target.device, sentinel + 1)
    return counts[:sentinel].view(n_slices, num_classes, num_classes)


def local_slice_counts(
    target: torch.Tensor, preds: torch.Tensor, num_classes: int, ignore_index=None
) -> torch.Tensor:
    """(TP, FP, FN) per row and class of two ``(K, V)`` label tensors.

    Parameters
    ----------
    target, preds : torch.Tensor
        ``(K, V)`` integer labels: K slices of V voxels each.
    num_classes : int
        ``C``.
    ignore_index : int, optional
        Target value excluded from the counts.

    Returns
    -------
    torch.Tensor
        ``(K, C, 3) int64``: TP, FP, FN of each class in each of the K slices.
    """
    n_slices = target.shape[0]
    if is_small_on_cpu(target):
        return torch.from_numpy(_local_slice_counts_numpy(target.numpy(), preds.numpy(), num_classes, ignore_index))
    index_dtype = torch.int32 if n_slices * num_classes + 1 < 2**31 else torch.int64
    rows = torch.arange(n_slices, device=target.device, dtype=index_dtype)[:, None]
    return row_class_counts(rows, target, preds, n_slices, num_classes, ignore_index)


def row_class_counts(rows: torch.Tensor, target: torch.Tensor, preds: torch.Tensor, n_rows: int,
                     num_classes: int, ignore_index=None) -> torch.Tensor:
    """(TP, FP, FN) per row and class of voxels that lie in the rows (slices) ``rows`` says.

    Parameters
    ----------
    rows : torch.Tensor
        Integer row of each voxel, broadcastable to ``target`` (e.g. ``(K, 1)`` for ``(K, V)`` labels, or
        ``(N,)`` for ``N`` scattered voxels); its dtype is the index dtype (int32 when ``n_rows * C`` fits).
    target, preds : torch.Tensor
        Integer labels, same shape.
    n_rows : int
        Rows counted (every value of ``rows`` is below it).
    num_classes : int
        ``C``.
    ignore_index : int, optional
        Target value excluded from the counts.

    Returns
    -------
    torch.Tensor
        ``(n_rows, C, 3) int64``.
    """
    sentinel = n_rows * num_classes
    bins = sentinel + 1
    offsets = rows * num_classes
    target_index = target.to(offsets.dtype) + offsets
    preds_index = preds.to(offsets.dtype) + offsets
    if ignore_index is not None:
        ignored = target == ignore_index
        target_index = target_index.masked_fill(ignored, sentinel)
        preds_index = preds_index.masked_fill(ignored, sentinel)
    hits_index = target_index.masked_fill(target != preds, sentinel)
    gt = torch.bincount(target_index.reshape(-1), minlength=bins)[:sentinel]
    predicted = torch.bincount(preds_index.reshape(-1), minlength=bins)[:sentinel]
    tp = torch.bincount(hits_index.reshape(-1), minlength=bins)[:sentinel]
    return torch.stack((tp, predicted - tp, gt - tp), dim=-1).view(n_rows, num_classes, 3)


def box_edit_counts(old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray], num_classes: int,
                    axes, ignore_index=None) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """How a small edit of a box changes the confusion matrix and the per-slice counts (numpy only).

    A brush dab's whole count in a few numpy calls: per slice of the box along one tracked axis, the
    confusion matrices of the old and the new (target, preds) pairs; their difference summed over the
    slices is the matrix's change, and its diagonal and margins are each slice's (TP, FP, FN) change.

    Parameters
    ----------
    old, new : tuple of 2 np.ndarray
        ``(target, preds)`` labels of the box before and after the edit, all of one shape ``(dz, dy, dx)``
        (any number of dimensions), labels in ``0..C-1`` (target may hold ``ignore_index``).
    num_classes : int
        ``C``.
    axes : iterable of int
        The slice axes whose per-slice counts are kept.
    ignore_index : int, optional
        Target value excluded from the counts.

    Returns
    -------
    delta : np.ndarray
        ``(C, C) int64`` change of the confusion matrix (rows = target).
    slices : dict of int to np.ndarray
        Per axis, the ``(K, C, 3) int64`` change of (TP, FP, FN) of the box's ``K`` slices along it.
    """
    pairs = num_classes * num_classes
    indices = []
    for target, preds in (old, new):
        index = target.astype(np.intp) * num_classes + preds
        if ignore_index is not None:
            index[target == ignore_index] = pairs
        indices.append(index)
    axes = list(axes)
    slices = {}
    delta = None
    for axis in axes or [0]:
        rows = indices[0].shape[axis] if indices[0].ndim else 1
        offsets = (np.arange(rows, dtype=np.intp) * (pairs + 1)).reshape(
            [-1 if d == axis else 1 for d in range(indices[0].ndim)])
        size = rows * (pairs + 1)
        per_slice = (np.bincount((indices[1] + offsets).reshape(-1), minlength=size)
                     - np.bincount((indices[0] + offsets).reshape(-1), minlength=size))
        per_slice = per_slice.reshape(rows, pairs + 1)[:, :pairs].reshape(rows, num_classes, num_classes)
        if delta is None:
            delta = per_slice.sum(axis=0)
        if axes:
            tp = np.diagonal(per_slice, axis1=1, axis2=2)
            slices[axis] = np.stack((tp, per_slice.sum(axis=1) - tp, per_slice.sum(axis=2) - tp), axis=-1)
    return delta.astype(np.int64, copy=False), slices


def _local_slice_counts_numpy(target: np.ndarray, preds: np.ndarray, num_classes: int, ignore_index) -> np.ndarray:
    """:func:`local_slice_counts` of ``(K, V)`` numpy labels: ``(K, C, 3) int64``."""
    n_slices = target.shape[0]
    sentinel = n_slices * num_classes
    offsets = (np.arange(n_slices, dtype=np.intp) * num_classes)[:, None]
    target_index = target.astype(np.intp) + offsets
    preds_index = preds.astype(np.intp) + offsets
    if ignore_index is not None:
        ignored = target == ignore_index
        target_index[ignored] = sentinel
        preds_index[ignored] = sentinel
    hits_index = np.where(target == preds, target_index, sentinel)
    gt, predicted, tp = (np.bincount(index.reshape(-1), minlength=sentinel + 1)[:sentinel].astype(np.int64)
                         for index in (target_index, preds_index, hits_index))
    return np.stack((tp, predicted - tp, gt - tp), axis=-1).reshape(n_slices, num_classes, 3)
