"""Confusion matrices: the full ``(C, C)`` matrix, its counting kernel, and the chunk pool the counts run on.

Per-slice counts ``(S, C, 3)`` and a small edit's count are in :mod:`dice_engine.per_slice`.

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
    if is_small_on_cpu(target):
        index = target.numpy().astype(np.intp) * num_classes + preds.numpy()
        if ignore_index is not None:
            index[target.numpy() == ignore_index] = pairs
        counts = np.bincount(index.reshape(-1), minlength=bins)[:pairs]
        return torch.from_numpy(counts.astype(np.int64, copy=False)).view(num_classes, num_classes)
    index_dtype = _index_dtype(bins)
    chunk = chunk_voxels(target.device)

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

    counts = sum_chunks(count, range(0, target.numel(), chunk), target.device, bins)
    return counts[:pairs].view(num_classes, num_classes)


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


def chunk_voxels(device: torch.device) -> int:
    """Voxels per counted chunk on ``device`` (:data:`CHUNK_VOXELS` or :data:`GPU_CHUNK_VOXELS`)."""
    return CHUNK_VOXELS if device.type == "cpu" else GPU_CHUNK_VOXELS


def is_small_on_cpu(labels: torch.Tensor) -> bool:
    """Few voxels on the CPU (a brush edit): numpy's per-call cost is far below torch's there."""
    return labels.device.type == "cpu" and labels.numel() <= SMALL_VOXELS


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


def sum_chunks(count: Callable[[int], torch.Tensor], starts, device: torch.device, size: int) -> torch.Tensor:
    """Sum of ``count`` over every chunk start: ``(size,)`` int64 on ``device`` (chunks run by :func:`map_chunks`)."""
    total = torch.zeros(size, dtype=torch.int64, device=device)
    for part in map_chunks(count, list(starts), device):
        total += part
    return total


def map_chunks(count: Callable[[int], torch.Tensor], starts: list[int], device: torch.device):
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
