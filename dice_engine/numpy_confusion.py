"""The confusion matrix of two numpy label maps, in numpy alone: the window's first table before torch is loaded.

Importing torch takes 2-3 s on 2 cores, longer than reading a CT-sized case; the review window's first
Dice table must not wait for it (docs/architecture.md §10). This module counts the same ``(C, C)``
matrix as :func:`dice_engine.confusion_matrix` (rows = ground truth, ``int64``, voxels whose ground
truth is ``ignore_index`` left out) with numpy only, in contiguous chunks, leaving out runs of voxels
that are background in both masks (most of a CT) as :mod:`dice_engine.confusion` does. The scores of
the matrix come from :mod:`dice_engine.matrix_scores`, also numpy only. As everywhere in the engine, the
two label maps are keyword-only (``target=``, ``preds=``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CHUNK_VOXELS = 1 << 21
"""Voxels counted per chunk: bounds the temporary index arrays to a few MB (cache-sized)."""

BACKGROUND_RUN = 2048
"""Voxels per run when leaving out runs that are background (0) in both label maps."""


def numpy_confusion_matrix(*, target: np.ndarray, preds: np.ndarray, num_classes: int,
                           ignore_index: int | None = None,
                           between_chunks: Callable[[], None] | None = None) -> np.ndarray:
    """Count voxels per (ground-truth class, predicted class) pair of two numpy label maps.

    Parameters
    ----------
    target : numpy.ndarray
        Ground-truth label map, any shape, any integer (or boolean) dtype. Keyword-only.
    preds : numpy.ndarray
        Predicted label map, same shape. Keyword-only.
    num_classes : int
        ``C``: every label must lie in ``0 .. C - 1`` (the ground truth may also hold ``ignore_index``).
    ignore_index : int, optional
        Ground-truth value meaning "not annotated": those voxels are left out of every count.
    between_chunks : callable, optional
        Called after each chunk (e.g. a job's cancellation checkpoint).

    Returns
    -------
    numpy.ndarray
        ``(C, C) int64``; rows = ground truth, columns = prediction.

    Raises
    ------
    ValueError
        Shapes differ, a dtype is not integer, ``num_classes`` < 1, or a label lies outside ``0 .. C - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> numpy_confusion_matrix(target=np.array([1, 1, 0, 1, 0, 0]), preds=np.array([1, 0, 0, 1, 0, 1]),
    ...                        num_classes=2).tolist()
    [[2, 1], [1, 2]]
    """
    target, preds = _check_pair(target, preds, num_classes)
    pairs = num_classes * num_classes
    index_dtype = np.uint8 if pairs < 256 else np.uint16 if pairs < 65536 else np.intp
    counts = np.zeros(pairs + 1, np.int64)   # the last bin collects ignored voxels and is dropped
    flat_target, flat_preds = target.reshape(-1), preds.reshape(-1)
    for start in range(0, flat_target.size, CHUNK_VOXELS):
        chunk_target, chunk_preds, background = _drop_background_runs(flat_target[start:start + CHUNK_VOXELS],
                                                                      flat_preds[start:start + CHUNK_VOXELS])
        _check_labels(chunk_target, chunk_preds, num_classes, ignore_index)
        index = chunk_target.astype(index_dtype) * index_dtype(num_classes) + chunk_preds.astype(index_dtype)
        if ignore_index is not None:
            index[chunk_target == ignore_index] = pairs
        counts += np.bincount(index, minlength=pairs + 1)
        counts[pairs if ignore_index == 0 else 0] += background
        if between_chunks is not None:
            between_chunks()
    return counts[:pairs].reshape(num_classes, num_classes)


def _check_pair(target, preds, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    target, preds = np.asarray(target), np.asarray(preds)
    if target.shape != preds.shape:
        raise ValueError(f"target and preds must have the same shape, got {target.shape} and {preds.shape}")
    for name, labels in (("target", target), ("preds", preds)):
        if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
            raise ValueError(f"{name}: expected integer labels, got dtype {labels.dtype}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return np.ascontiguousarray(target), np.ascontiguousarray(preds)


def _check_labels(target: np.ndarray, preds: np.ndarray, num_classes: int, ignore_index: int | None) -> None:
    """ValueError when a label of this chunk lies outside ``0 .. C - 1`` (the ground truth's
    ``ignore_index`` excepted)."""
    if not target.size:
        return
    for name, labels, allowed in (("target", target, ignore_index), ("preds", preds, None)):
        low, high = int(labels.min()), int(labels.max())
        if low >= 0 and high < num_classes:
            continue
        outside = (labels < 0) | (labels >= num_classes)
        if allowed is not None:
            outside &= labels != allowed
        if outside.any():
            bad = int(labels[outside][0])
            raise ValueError(f"{name}: label {bad} is outside 0..{num_classes - 1}")


def _drop_background_runs(target: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Leave out runs of :data:`BACKGROUND_RUN` voxels that are background (0) in both label maps, when at
    least a quarter of the runs are; returns the voxels left to count and how many (0, 0) pairs were left out.

    A run is background when neither map's largest or smallest value in it differs from 0.
    """
    whole = target.size // BACKGROUND_RUN * BACKGROUND_RUN
    if whole == 0:
        return target, preds, 0
    target_runs = target[:whole].reshape(-1, BACKGROUND_RUN)
    preds_runs = preds[:whole].reshape(-1, BACKGROUND_RUN)
    labelled = (target_runs.max(axis=1) != 0) | (preds_runs.max(axis=1) != 0)
    if np.issubdtype(target.dtype, np.signedinteger):   # a negative label is not background: it is checked
        labelled |= target_runs.min(axis=1) != 0
    if np.issubdtype(preds.dtype, np.signedinteger):
        labelled |= preds_runs.min(axis=1) != 0
    idle_runs = int(labelled.size - np.count_nonzero(labelled))
    if idle_runs * 4 < labelled.size:
        return target, preds, 0
    kept_target = np.concatenate((target_runs[labelled].reshape(-1), target[whole:]))
    kept_preds = np.concatenate((preds_runs[labelled].reshape(-1), preds[whole:]))
    return kept_target, kept_preds, idle_runs * BACKGROUND_RUN
