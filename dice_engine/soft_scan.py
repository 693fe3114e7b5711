"""One threaded pass over a model's probabilities: exact soft sums, histograms, argmax, entropy, and how far
a given predicted mask agrees with them.

Opening model output needs several whole-volume figures of the same ``(C, z, y, x)`` probabilities
(docs/architecture.md §8): the exact soft-Dice sums, the per-class histograms behind
the Dice-vs-threshold curves, the argmax prediction, the per-voxel entropy and, beside a predicted mask,
where that mask disagrees with the probabilities. Reading a 14-class
512×512×300 volume once per figure costs more than the arithmetic, so :func:`scan_probabilities`
computes any subset of them in **one** pass: the slices are shared out to a pool of threads (numpy and
torch release the GIL, except in ``np.bincount``), and each thread converts one small chunk of rows at a
time to float32 (a cache-sized working copy, never the whole volume) and derives every asked-for figure
from it before moving on.

Exactness is the slower paths' (:class:`dice_engine.soft.LiveSoftDice`,
:class:`dice_engine.soft_threshold.ClassHistograms`): float16 probabilities are whole multiples of
2^-24, so per-chunk float64 sums are exact and are added as int64 fixed-point units; a float32 copy of a
float16 or float32 value times 1024 is exact, so ``floor`` gives the same bin as the float64 path.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from dice_engine.soft_probabilities import FLOAT16_BITS, first_argmax

CHUNK_VOXELS = 1 << 14
"""Voxels (whole rows) one thread converts to float32 at once: 14 classes make a 0.9 MiB working copy. Below
torch's parallel grain (32768 values per channel), so each conversion stays on its thread: the pass is
threaded over slices, and torch's own worker threads on top would only compete for the same cores."""
MAX_WORKERS = 8
BINS = 1024
EDGES = BINS + 1


@dataclass
class ScanResult:
    """What one pass found (:func:`scan_probabilities`, or :func:`dice_engine.soft_checks.check_scores`); a figure
    not asked for is None.

    Attributes
    ----------
    low, high : float or None
        The smallest and largest value (the checks of :func:`dice_engine.soft_checks.check_scores`; NaN
        when a NaN was met).
    first_nonfinite_slice : int or None
        The first z slice holding NaN or ±Inf (checks; None: every value is finite).
    worst_sum_error : float or None
        Largest ``|Σ_c p_c − 1|`` over the voxels (checks; 0 for one channel).
    intersection, prob_sum, target_sum : np.ndarray or None
        ``(L,)`` int64 ``Σp·y``, ``Σp`` (units of 2^-24) and ``Σy`` per label, ``L = max(C, 2)``; one
        channel: label 0 is the background ``1 − p`` (sums, float16 only).
    histogram_inside, histogram_total : np.ndarray or None
        ``(C, 1025)`` int64 voxels per channel and bin ``floor(clip(p, 0, 1) · 1024)`` of that channel's
        probability: of the channel's own class (one channel: ground truth 1), and of every label.
    prediction : np.ndarray or None
        ``(z, y, x)`` uint8 (int16 beyond 256 classes) argmax over the classes, ties to the lowest
        (several channels only).
    entropy : np.ndarray or None
        ``(z, y, x)`` float16 normalised entropy in [0, 1] (as :func:`dice_engine.soft_uncertainty.
        voxel_uncertainty`, computed in float32).
    disagreement : tuple of 3 int or None
        ``(decisive voxels, decisive voxels where the given mask differs from the probabilities'
        prediction, voxels where it differs at all)``, exactly as
        :func:`dice_engine.soft_probabilities.disagreement` (``agree_with``).
    """

    low: float | None = None
    high: float | None = None
    first_nonfinite_slice: int | None = None
    worst_sum_error: float | None = None
    intersection: np.ndarray | None = None
    prob_sum: np.ndarray | None = None
    target_sum: np.ndarray | None = None
    histogram_inside: np.ndarray | None = None
    histogram_total: np.ndarray | None = None
    prediction: np.ndarray | None = None
    entropy: np.ndarray | None = None
    disagreement: tuple[int, int, int] | None = None


def scan_probabilities(scores: np.ndarray, *, target: np.ndarray | None = None, ignore_index: int | None = None,
                       sums: bool = False, histograms: bool = False, argmax: bool = False,
                       entropy: bool = False, agree_with: np.ndarray | None = None, decisive: float = 0.9,
                       threshold: float = 0.5, workers: int | None = None) -> ScanResult:
    """Compute the asked-for figures of ``(C, z, y, x)`` probabilities in one threaded pass.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` float16 or float32 probabilities (float64 is read in float64); any strides,
        never written. Every figure assumes finite values: scores are checked first
        (:func:`dice_engine.soft_checks.check_scores`, docs/architecture.md §8d).
    target : np.ndarray, optional
        ``(z, y, x)`` integer ground truth, needed for ``sums`` and ``histograms``.
    ignore_index : int, optional
        Ground-truth label left out of the sums and histograms.
    sums : bool
        Exact ``Σp·y``, ``Σp``, ``Σy`` (float16 probabilities of at most 2^29 voxels only).
    histograms, argmax, entropy : bool
        See :class:`ScanResult`.
    agree_with : np.ndarray, optional
        ``(z, y, x)`` integer labels of a predicted mask given beside the probabilities: count where it
        disagrees with them (:attr:`ScanResult.disagreement`).
    decisive : float
        A voxel is decisive when its largest class probability (one channel: ``max(p, 1 − p)``) is at
        least this (compared exactly as in float64).
    threshold : float
        The one-channel foreground threshold of the probabilities' prediction (``p >= threshold``).
    workers : int, optional
        Threads (default: the CPU count, at most :data:`MAX_WORKERS`).

    Returns
    -------
    ScanResult

    Raises
    ------
    ValueError
        A ground-truth label without a channel, shapes that do not fit, or sums of non-float16 scores.
    """
    if scores.ndim != 4:
        raise ValueError(f"scores must be (C, z, y, x), got shape {scores.shape}")
    if (sums or histograms) and (target is None or tuple(target.shape) != tuple(scores.shape[1:])):
        raise ValueError(f"sums and histograms need a target of shape {tuple(scores.shape[1:])}")
    if sums and scores.dtype != np.float16:
        raise ValueError(f"exact sums in one pass need float16 probabilities, got {scores.dtype}")
    if agree_with is not None and tuple(agree_with.shape) != tuple(scores.shape[1:]):
        raise ValueError(f"agree_with shape {tuple(agree_with.shape)} does not match the scores' "
                         f"{tuple(scores.shape[1:])}")
    pass_ = _Pass(scores, target, ignore_index, sums=sums, histograms=histograms,
                  argmax=argmax and scores.shape[0] > 1, entropy=entropy,
                  agreement=_Agreement(agree_with, decisive, threshold, scores.dtype) if agree_with is not None
                  else None)
    return pass_.combine(over_slices(pass_.run, scores.shape[1], workers, "dicelens-scan"))


def over_slices(run, depth: int, workers: int | None, thread_name: str) -> list:
    """``run`` on interleaved groups of the ``depth`` z slices, one group per thread; its results in group order.

    ``workers``: threads (default: the CPU count, at most :data:`MAX_WORKERS`); one thread runs ``run`` here.
    """
    workers = max(1, min(workers or os.cpu_count() or 1, MAX_WORKERS, depth))
    if workers == 1:
        return [run(range(depth))]
    groups = [range(start, depth, workers) for start in range(workers)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_name) as pool:
        return list(pool.map(run, groups))


def kept_target(labels: np.ndarray, ignore_index: int | None, label_count: int,
                channels: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat ground-truth ``labels`` as intp (ignored voxels as 0) and the mask of kept voxels (None: all kept).

    Raises ValueError for a label without a channel (``label_count = max(C, 2)`` labels).
    """
    target = labels.astype(np.intp)
    keep = None
    if ignore_index is not None:
        keep = target != ignore_index
        if keep.all():
            keep = None
        else:
            target[~keep] = 0
    if target.size and int(target.max()) >= label_count:
        raise ValueError(f"target: found label {int(target.max())}, but the scores have {channels} "
                         f"channel(s) (labels 0..{label_count - 1})")
    return target, keep


def add_bin_counts(histogram: np.ndarray, index: np.ndarray, target: np.ndarray, keep: np.ndarray | None) -> None:
    """Add a chunk's voxels per channel and bin to ``histogram`` (flat ``(2, C, 1025)``: of the channel's own
    class, then in all).

    ``index``: ``(C, n)`` intp bin of each value plus its channel's offset ``c · 1025``; ``target``/``keep``
    as :func:`kept_target` gives them.
    """
    channels = index.shape[0]
    size = channels * EDGES
    voxels = target.size
    if channels == 1:                                    # the foreground's own voxels: ground truth 1
        own = index[0, (target == 1) if keep is None else (target == 1) & keep]
    else:                                                # each voxel's bin in its own class's channel
        own = index.reshape(-1)[target * voxels + np.arange(voxels)]
        own = own if keep is None else own[keep]
    histogram[:size] += np.bincount(own, minlength=size)
    every = index.reshape(-1) if keep is None else index[:, keep].reshape(-1)
    histogram[size:] += np.bincount(every, minlength=size)


class _Partial:
    """One thread's running figures."""

    def __init__(self, channels: int, labels: int, pass_: _Pass) -> None:
        self.sums = np.zeros((3, labels), np.int64) if pass_.sums else None
        self.histogram = np.zeros(2 * channels * EDGES, np.int64) if pass_.histograms else None
        """Flat ``(2, C, 1025)``: inside, then in all."""
        self.disagreement = np.zeros(3, np.int64)


class _Pass:
    """The per-chunk arithmetic of one :func:`scan_probabilities` call."""

    def __init__(self, scores, target, ignore_index, *, sums, histograms, argmax, entropy, agreement) -> None:
        self.scores, self.target, self.ignore_index = scores, target, ignore_index
        self.sums, self.histograms, self.argmax, self.entropy = sums, histograms, argmax, entropy
        self.agreement = agreement
        self.channels, _, self.height, self.width = scores.shape
        self.labels = max(self.channels, 2)
        self.rows = max(1, min(self.height, CHUNK_VOXELS // max(1, self.width)))
        self.dtype = np.float32 if np.promote_types(scores.dtype, np.float32) == np.float32 else np.float64
        shape = scores.shape[1:]
        self.prediction = np.empty(shape, np.uint8 if self.channels <= 256 else np.int16) if self.argmax else None
        self.entropy_volume = np.empty(shape, np.float16) if entropy else None
        self.channel_offsets = (np.arange(self.channels, dtype=np.intp) * EDGES)[:, np.newaxis]
        self.log_classes = math.log(max(2, self.channels))

    def run(self, slices) -> _Partial:
        partial = _Partial(self.channels, self.labels, self)
        buffer = np.empty((self.channels, self.rows, self.width), self.dtype)
        for z in slices:
            for start in range(0, self.height, self.rows):
                stop = min(self.height, start + self.rows)
                values = _converted(self.scores[:, z, start:stop], buffer[:, :stop - start])
                self._chunk(partial, z, start, stop, values.reshape(self.channels, -1))
        return partial

    def _chunk(self, partial: _Partial, z: int, start: int, stop: int, values: np.ndarray) -> None:
        box = (z, slice(start, stop))
        if self.sums or self.histograms:
            target, keep = self._target(self.target[box].reshape(-1))
            if self.sums:
                partial.sums += self._sums(values, target, keep)
            if self.histograms:
                self._histogram(partial.histogram, values, target, keep)
        labels = None
        if self.argmax or (self.agreement is not None and self.channels > 1):
            labels = first_argmax(values)
        if self.argmax:
            self.prediction[box] = labels.reshape(stop - start, self.width)
        if self.agreement is not None:
            partial.disagreement += self.agreement.counts(values, labels, box)
        if self.entropy:
            self.entropy_volume[box] = self._entropy(values).reshape(stop - start, self.width)

    def _target(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return kept_target(labels, self.ignore_index, self.labels, self.channels)

    def _sums(self, values: np.ndarray, target: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
        """``(3, L)`` int64: ``Σp·y``, ``Σp`` in units of 2^-24, and ``Σy`` (float64 sums of float16 values
        are exact here: every partial sum is a whole number of units below 2^53)."""
        unit = float(1 << FLOAT16_BITS)
        kept_target = target if keep is None else target[keep]
        counts = np.bincount(kept_target, minlength=self.labels)
        if self.channels == 1:
            foreground = values[0].astype(np.float64) if keep is None else values[0, keep].astype(np.float64)
            fg_sum = float(foreground.sum())
            fg_inside = float(foreground[kept_target == 1].sum())
            intersection = np.array([(counts[0] - (fg_sum - fg_inside)) * unit, fg_inside * unit])
            prob_sum = np.array([(kept_target.size - fg_sum) * unit, fg_sum * unit])
        else:
            kept = values if keep is None else values[:, keep]
            prob_sum = kept.sum(axis=1, dtype=np.float64) * unit
            voxels = kept_target.size   # each voxel's probability of its own label, one flat gather
            gathered = kept.reshape(-1)[kept_target * voxels + np.arange(voxels)]
            intersection = np.bincount(kept_target, weights=gathered, minlength=self.labels) * unit
        return np.stack((np.rint(intersection), np.rint(prob_sum), counts)).astype(np.int64)

    def _histogram(self, histogram: np.ndarray, values: np.ndarray, target: np.ndarray,
                   keep: np.ndarray | None) -> None:
        """Count the chunk's voxels per channel and bin, in all and of the channel's own class."""
        scaled = np.clip(values, 0.0, 1.0)
        scaled *= BINS                                       # exact: a power of two
        index = scaled.astype(np.intp)                       # floor of a non-negative value
        index += self.channel_offsets
        add_bin_counts(histogram, index, target, keep)

    def _entropy(self, values: np.ndarray) -> np.ndarray:
        probabilities = np.clip(values, 0.0, 1.0)
        if self.channels == 1:
            probabilities = np.concatenate((1 - probabilities, probabilities))
        logs = np.maximum(probabilities, np.finfo(probabilities.dtype).tiny)   # p = 0 adds 0 · log(tiny) = 0
        np.log(logs, out=logs)
        logs *= probabilities
        entropy = logs.sum(axis=0)
        entropy *= -1 / self.log_classes
        return np.clip(entropy, 0.0, 1.0).astype(np.float16)

    def combine(self, partials: list[_Partial]) -> ScanResult:
        result = ScanResult(prediction=self.prediction, entropy=self.entropy_volume)
        if self.sums:
            total = sum(p.sums for p in partials)
            result.intersection, result.prob_sum, result.target_sum = total[0], total[1], total[2]
        if self.histograms:
            result.histogram_inside, result.histogram_total = \
                sum(p.histogram for p in partials).reshape(2, self.channels, EDGES)
        if self.agreement is not None:
            result.disagreement = tuple(int(n) for n in sum(p.disagreement for p in partials))
        return result


class _Agreement:
    """Where a given mask disagrees with the probabilities' prediction, counted chunk by chunk; every
    comparison decides as the float64 one of :func:`dice_engine.soft_probabilities.disagreement` would."""

    def __init__(self, given: np.ndarray, decisive: float, threshold: float, dtype: np.dtype) -> None:
        self.given, self.decisive, self.threshold = given, float(decisive), float(threshold)
        self.float32 = np.promote_types(dtype, np.float32) == np.float32
        self.decisive_at_least = _float32_at_least(self.decisive) if self.float32 else self.decisive

    def counts(self, values: np.ndarray, labels: np.ndarray | None, box) -> np.ndarray:
        """``(3,)`` int64 decisive, differing decisive and differing voxels of one chunk ``(C, n)``."""
        given = self.given[box].reshape(-1)
        if values.shape[0] == 1:   # float64 (exact, one channel): the foreground where p >= threshold
            p = values[0].astype(np.float64)
            is_decisive = np.maximum(p, 1 - p) >= self.decisive
            differs = given != (p >= self.threshold).astype(np.uint8)
        else:                      # float32 of float16/float32 is exact; the threshold rounded up is too
            is_decisive = values.max(axis=0) >= self.decisive_at_least
            differs = labels != given
        differing_decisive = np.count_nonzero(differs & is_decisive)
        return np.array([np.count_nonzero(is_decisive), differing_decisive, np.count_nonzero(differs)], np.int64)


def _float32_at_least(value: float) -> np.float32:
    """The smallest float32 ``t`` with ``t >= value`` in float64, so ``x >= t`` in float32 decides
    ``float64(x) >= value`` exactly for every float32 ``x``."""
    rounded = np.float32(value)
    if float(rounded) < value:
        rounded = np.nextafter(rounded, np.float32(np.inf))
    return rounded


def _converted(source: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """``source`` copied into ``buffer`` (same shape), with torch's vectorised float16 conversion when it can
    (numpy's is several times slower), one class at a time (see :data:`CHUNK_VOXELS`)."""
    if source.flags.writeable and buffer.dtype == np.float32 and min(source.strides) >= 0:
        target, values = torch.from_numpy(buffer), torch.from_numpy(source)
        for channel in range(buffer.shape[0]):
            target[channel].copy_(values[channel])
    else:  # torch wraps neither read-only arrays nor negative strides
        np.copyto(buffer, source)
    return buffer
