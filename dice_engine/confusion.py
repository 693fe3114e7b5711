"""Confusion matrices: full ``(C, C)``, per slice ``(S, C, 3)``, and the counting kernels behind them.

Convention (docs/architecture.md §5): rows = ground truth (target) class, columns = predicted class,
voxel counts as ``int64`` on the inputs' device. As everywhere in the engine's public API, the two
label maps are keyword-only, ``confusion_matrix(target=gt, preds=pred)``: a swapped pair would
transpose the matrix and exchange FP with FN, so neither may be passed by position. The full
matrix is one ``bincount`` of ``target * C + preds``, computed in chunks of a few million voxels in
the smallest integer type that holds ``C * C`` (no full-volume ``int64`` copy), with CPU chunks
counted on all of torch's threads. Voxels whose target equals ``ignore_index`` are left out of every count.
"""

from __future__ import annotations

import atexit
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from dice_engine._inputs import (
    ArrayLike,
    as_labels,
    check_label_range,
    check_same_shape,
    resolve_num_classes,
)

CHUNK_VOXELS = 1 << 22
"""Voxels counted per chunk on the CPU: bounds the temporary index tensors to a few tens of MB."""

GPU_CHUNK_VOXELS = 1 << 27
"""Voxels counted per chunk on a GPU (index tensors of at most 512 MB there). torch's CUDA ``bincount``
synchronises with the host twice per call (it reads the input's minimum and maximum), so small chunks
cost far more than their counting: 512×512×300 took 10.9 ms in 4 Mi-voxel chunks on an H200."""

GPU_BIN_COPIES = 16
"""Copies of the bins a GPU count spreads neighbouring voxels over (see :func:`_spread_bincount`)."""

SMALL_VOXELS = 1 << 16
"""Up to this many voxels on the CPU, the counting kernels use numpy (lower per-call cost than torch)."""

BACKGROUND_RUN = 2048
"""Voxels per run when skipping runs that are background in both masks (see _drop_background_runs)."""

PER_SLICE_CONFUSION_BINS = 1 << 21
"""Largest ``S × C × C`` counted as per-slice confusion matrices in one pass (16 MB of int64)."""

_pool: ThreadPoolExecutor | None = None
_pool_threads = 0
_pool_lock = threading.Lock()

def confusion_matrix(
    *, target: ArrayLike, preds: ArrayLike, num_classes: int | None = None, ignore_index: int | None = None
) -> torch.Tensor:
    """Count voxels per (ground-truth class, predicted class) pair.

    Parameters
    ----------
    target : array-like of int, any shape
        Ground-truth label map (numpy or torch, any integer dtype, or whole-number floats).
    preds : array-like of int, same shape as ``target``
        Predicted label map.
    num_classes : int, optional
        ``C``. ``None`` infers the largest label in either map + 1.
    ignore_index : int, optional
        Target value meaning "not annotated": those voxels are excluded from every count.

    Returns
    -------
    torch.Tensor
        ``(C, C) int64`` on the inputs' device; rows = ground truth, columns = prediction.

    Raises
    ------
    ValueError
        Shapes differ, labels are negative, non-integral or ``>= num_classes``.

    Examples
    --------
    >>> confusion_matrix(target=[1, 1, 0, 1, 0, 0], preds=[1, 0, 0, 1, 0, 1]).tolist()
    [[2, 1], [1, 2]]
    """
    target_t, preds_t, num_classes = prepare_pair(target, preds, num_classes, ignore_index)
    if preds_t.device != target_t.device:
        preds_t = preds_t.to(target_t.device)
    return pair_counts(target_t.reshape(-1), preds_t.reshape(-1), num_classes, ignore_index)


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


def prepare_pair(target, preds, num_classes, ignore_index):
    """Validate a (target, preds) pair of label maps and resolve ``num_classes``.

    Returns
    -------
    target, preds : torch.Tensor
        Integer tensors of equal shape.
    num_classes : int
    """
    target_t = as_labels(target, "target")
    preds_t = as_labels(preds, "preds")
    check_same_shape(target_t, preds_t)
    num_classes = resolve_num_classes(num_classes, target_t, preds_t, ignore_index=ignore_index)
    check_label_range(target_t, num_classes, "target", ignore_index)
    check_label_range(preds_t, num_classes, "preds")
    return target_t, preds_t, num_classes


def pair_counts(target: torch.Tensor, preds: torch.Tensor, num_classes: int, ignore_index=None) -> torch.Tensor:
    """Confusion matrix of two validated, flat label tensors (the counting kernel).

    Parameters
    ----------
    target, preds : torch.Tensor
        ``(N,)`` integer labels on one device, already checked to lie in ``0..C-1``
        (target may also hold ``ignore_index``).
    num_classes : int
        ``C``.
    ignore_index : int, optional
        Target value excluded from the counts.

    Returns
    -------
    torch.Tensor
        ``(C, C) int64``, rows = target.
    """
    pairs = num_classes * num_classes
    bins = pairs + 1  # the last bin collects ignored voxels and is dropped
    if _is_small_on_cpu(target):
        index = target.numpy().astype(np.intp) * num_classes + preds.numpy()
        if ignore_index is not None:
            index[target.numpy() == ignore_index] = pairs
        counts = np.bincount(index.reshape(-1), minlength=bins)[:pairs]
        return torch.from_numpy(counts.astype(np.int64, copy=False)).view(num_classes, num_classes)
    index_dtype = _index_dtype(bins)
    chunk = _chunk_voxels(target.device)

    def count(start: int) -> torch.Tensor:
        chunk_target, chunk_preds, background_pairs = _drop_background_runs(
            target[start : start + chunk], preds[start : start + chunk]
        )
        index = chunk_target.to(index_dtype) * num_classes + chunk_preds.to(index_dtype)
        if ignore_index is not None:
            index = index.masked_fill(chunk_target == ignore_index, pairs)
        counts = torch.bincount(index, minlength=bins) if index.device.type == "cpu" else _spread_bincount(index, bins)
        if background_pairs:
            counts[pairs if ignore_index == 0 else 0] += background_pairs
        return counts

    counts = _sum_chunks(count, range(0, target.numel(), chunk), target.device, bins)
    return counts[:pairs].view(num_classes, num_classes)


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
    step = max(1, _chunk_voxels(target.device) // max(voxels_per_slice, 1))

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
    return torch.cat(_map_chunks(count, starts, target.device), dim=0)


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
    rows = max(1, _chunk_voxels(target.device) // max(math.prod(target.shape[1:]), 1))
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
    counts = _sum_chunks(count, starts, target.device, sentinel + 1)
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
    if _is_small_on_cpu(target):
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


def _spread_bincount(index: torch.Tensor, bins: int) -> torch.Tensor:
    """``torch.bincount(index, minlength=bins)`` on a GPU, counted into :data:`GPU_BIN_COPIES` copies of the bins.

    Neighbouring voxels (one warp's threads) count into different copies, so a volume that is mostly
    one pair (background in both masks) does not queue its atomic adds on one bin; the copies are summed.

    Parameters
    ----------
    index : torch.Tensor
        ``(N,)`` integer bin of each voxel, ``0 <= index < bins``.
    bins : int
        Number of bins.

    Returns
    -------
    torch.Tensor
        ``(bins,) int64``.
    """
    copies = GPU_BIN_COPIES if bins * GPU_BIN_COPIES <= 1 << 14 else 1
    whole = index.numel() // copies * copies
    if copies == 1 or whole == 0:
        return torch.bincount(index, minlength=bins)
    wide = torch.int16 if bins * copies < 2**15 else torch.int32
    offsets = torch.arange(copies, device=index.device, dtype=wide) * bins
    spread = (index[:whole].to(wide).view(-1, copies) + offsets).view(-1)
    counts = torch.bincount(spread, minlength=bins * copies).view(copies, bins).sum(dim=0)
    if whole < index.numel():
        counts += torch.bincount(index[whole:], minlength=bins)
    return counts


def _chunk_voxels(device: torch.device) -> int:
    """Voxels per counted chunk on ``device`` (:data:`CHUNK_VOXELS` or :data:`GPU_CHUNK_VOXELS`)."""
    return CHUNK_VOXELS if device.type == "cpu" else GPU_CHUNK_VOXELS


def _is_small_on_cpu(labels: torch.Tensor) -> bool:
    """Few voxels on the CPU (a brush edit): numpy's per-call cost is far below torch's there."""
    return labels.device.type == "cpu" and labels.numel() <= SMALL_VOXELS


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


def _drop_background_runs(target: torch.Tensor, preds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Leave out runs of :data:`BACKGROUND_RUN` voxels that are background (0) in both label maps.

    Most of a CT is background in both masks; such voxels can only be (0, 0) pairs, so counting
    them one by one is wasted work. A maximum per run finds them (labels are validated >= 0) and
    they are returned as a count instead. CPU only (numpy's small-integer reductions are several
    times faster than torch's there; a GPU counts everything faster than it could skip), and only
    when at least a quarter of the runs are idle.

    Parameters
    ----------
    target, preds : torch.Tensor
        ``(N,)`` flat labels of one chunk.

    Returns
    -------
    target, preds : torch.Tensor
        The voxels still to count, in order.
    background_pairs : int
        Number of (0, 0) voxels left out.
    """
    whole = target.numel() // BACKGROUND_RUN * BACKGROUND_RUN
    if whole == 0 or target.device.type != "cpu":
        return target, preds, 0
    target_runs = target.numpy()[:whole].reshape(-1, BACKGROUND_RUN)
    preds_runs = preds.numpy()[:whole].reshape(-1, BACKGROUND_RUN)
    labelled = (target_runs.max(axis=1) > 0) | (preds_runs.max(axis=1) > 0)
    idle_runs = int(labelled.size - np.count_nonzero(labelled))
    if idle_runs * 4 < labelled.size:
        return target, preds, 0
    kept_target = torch.cat((torch.from_numpy(target_runs[labelled].reshape(-1)), target[whole:]))
    kept_preds = torch.cat((torch.from_numpy(preds_runs[labelled].reshape(-1)), preds[whole:]))
    return kept_target, kept_preds, idle_runs * BACKGROUND_RUN


def _index_dtype(bins: int) -> torch.dtype:
    """Smallest integer dtype that holds ``0 .. bins - 1``."""
    if bins <= 256:
        return torch.uint8
    if bins <= 2**15:
        return torch.int16
    if bins <= 2**31:
        return torch.int32
    return torch.int64


def _sum_chunks(count: Callable[[int], torch.Tensor], starts, device: torch.device, size: int) -> torch.Tensor:
    total = torch.zeros(size, dtype=torch.int64, device=device)
    for part in _map_chunks(count, list(starts), device):
        total += part
    return total


def _map_chunks(count: Callable[[int], torch.Tensor], starts: list[int], device: torch.device):
    """Apply ``count`` to every chunk start; CPU chunks run on torch's thread count in parallel.

    torch's CPU ``bincount`` is single-threaded and releases the GIL, so a small thread pool
    counts chunks concurrently; on a GPU the kernels are already parallel. The pool is kept
    between calls (a fresh pool per call measured 2x slower on 512×512×128: new threads start
    with cold allocator arenas) and is owned by this module: :func:`shutdown_workers` stops it.
    """
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads < 2 or len(starts) < 2:
        return [count(start) for start in starts]
    with _pool_lock:  # submitted under the lock: a concurrent shutdown waits for these chunks
        futures = [_thread_pool(threads).submit(count, start) for start in starts]
    return [future.result() for future in futures]


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    """The module's chunk pool with ``threads`` workers (created on first use; caller holds the lock)."""
    global _pool, _pool_threads
    if _pool is None or _pool_threads != threads:
        if _pool is not None:
            _pool.shutdown(wait=False)  # its submitted chunks still finish
        _pool, _pool_threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dice-engine"), threads
    return _pool


def shutdown_workers(wait: bool = True) -> None:
    """Stop the engine's chunk-counting threads; the next large CPU count starts them again.

    Registered with :mod:`atexit`; an application that owns its threads' lifetimes (the review
    window's ``closeEvent``) calls it explicitly. Safe to call at any time and from any thread:
    chunks already submitted by a running count are finished first (``wait=True``).

    Parameters
    ----------
    wait : bool
        Block until the threads have finished their submitted chunks and exited.
    """
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait)


atexit.register(shutdown_workers)
