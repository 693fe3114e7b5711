"""The curves' histograms and the per-voxel entropy of a model's probabilities in one threaded pass, in steps.

The window's soft lane needs, after the soft sums, two more whole-volume figures of the same
``(C, z, y, x)`` probabilities: the per-class histograms behind the Dice-vs-threshold curves
(:class:`dice_engine.soft_threshold.ClassHistograms`) and the normalised entropy with its mean per slice
(:mod:`dice_engine.soft_uncertainty`). :class:`HistogramEntropyPass` computes both from **one** read and
one float32 conversion of each chunk of rows (docs/architecture.md §8c): the slices are shared out to a
pool of threads, and each thread clips its working copy in place once, bins it and takes its entropy
with no other copy of the chunk's size than one scratch array.

The pass runs in steps of a few slices (:meth:`HistogramEntropyPass.steps`): the caller's thread gets
control back between steps, so a job can stop there (cancel) or pause while the user drags a brush
(``app.qt.drag_yield`` hooks that thread's Python calls). Memory: per thread, one working copy and one
scratch array of :data:`dice_engine.soft_scan.CHUNK_VOXELS` voxels, plus the outputs (the float16 entropy
volume).

Exactness: the same figures as :func:`dice_engine.soft_scan.scan_probabilities` (``histograms=True,
entropy=True``), bit for bit: a float32 copy of a float16 or float32 value times 1024 is exact, so the bin
``floor(clip(p, 0, 1) · 1024)`` is the float64 path's, and the entropy takes the same float32 steps. The
per-slice means are float64 sums of the float16 entropy, exact in any order (multiples of 2^-24 far below
2^53 units), so they equal the float64 mean of the volume.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from dice_engine.soft_scan import CHUNK_VOXELS, MAX_WORKERS, add_bin_counts, kept_target

BINS = 1024
EDGES = BINS + 1
SLICES_PER_WORKER_STEP = 2
"""Slices each thread does per step: a step of 2 threads × 2 slices of 14×512×512 is ~0.1 s."""


@dataclass(frozen=True)
class HistogramsAndEntropy:
    """What a :class:`HistogramEntropyPass` found.

    Attributes
    ----------
    histogram_inside, histogram_total : np.ndarray
        ``(C, 1025)`` int64 voxels per channel and bin ``floor(clip(p, 0, 1) · 1024)`` of that channel's
        probability: of the channel's own class (one channel: ground truth 1), and of every label (voxels of
        ``ignore_index`` left out of both); what :class:`dice_engine.soft_threshold.ClassHistograms` takes.
    entropy : np.ndarray
        ``(z, y, x)`` float16 normalised entropy in [0, 1] (0 = certain).
    entropy_per_slice : tuple of 3 np.ndarray
        Mean of ``entropy`` over every slice along axis 0, 1 and 2, float64 ``(z,)``, ``(y,)``, ``(x,)``.
    """

    histogram_inside: np.ndarray
    histogram_total: np.ndarray
    entropy: np.ndarray
    entropy_per_slice: tuple


class HistogramEntropyPass:
    """Histograms and entropy of ``(C, z, y, x)`` probabilities, run with :meth:`steps` or :meth:`run`.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` float16, float32 or float64 probabilities, any strides, never written.
    target : np.ndarray
        ``(z, y, x)`` integer ground truth (read during the pass, not kept after it).
    ignore_index : int, optional
        Ground-truth label left out of the histograms.
    workers : int, optional
        Threads (default: the CPU count, at most :data:`dice_engine.soft_scan.MAX_WORKERS`).

    Raises
    ------
    ValueError
        Shapes that do not fit (at once), or a ground-truth label without a channel (during the pass).
    """

    def __init__(self, scores: np.ndarray, target: np.ndarray, *, ignore_index: int | None = None,
                 workers: int | None = None) -> None:
        if scores.ndim != 4:
            raise ValueError(f"scores must be (C, z, y, x), got shape {scores.shape}")
        if tuple(target.shape) != tuple(scores.shape[1:]):
            raise ValueError(f"target shape {tuple(target.shape)} does not match the scores' {tuple(scores.shape[1:])}")
        self.scores, self.target, self.ignore_index = scores, target, ignore_index
        self.channels, self.depth, self.height, self.width = scores.shape
        self.labels = max(self.channels, 2)
        self.rows = max(1, min(self.height, CHUNK_VOXELS // max(1, self.width)))
        self.dtype = np.float32 if np.promote_types(scores.dtype, np.float32) == np.float32 else np.float64
        self.workers = max(1, min(workers or os.cpu_count() or 1, MAX_WORKERS, self.depth))
        self._offsets = (np.arange(self.channels, dtype=np.intp) * EDGES)[:, np.newaxis]
        self._entropy_scale = -1 / math.log(self.labels)
        self._histogram = np.zeros(2 * self.channels * EDGES, np.int64)   # flat (2, C, 1025): inside, all
        self._entropy = np.empty(scores.shape[1:], np.float16)
        self._sums = [np.zeros(n, np.float64) for n in scores.shape[1:]]
        self._done = 0

    def steps(self) -> Iterator[int]:
        """Run the pass a few slices at a time, yielding the number of slices done after each step."""
        step = self.workers * SLICES_PER_WORKER_STEP
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dicelens-curves") as pool:
            for start in range(self._done, self.depth, step):
                stop = min(self.depth, start + step)
                groups = [range(first, stop, self.workers) for first in range(start, min(stop, start + self.workers))]
                for histogram, per_y, per_x in pool.map(self._slices, groups):
                    self._histogram += histogram
                    self._sums[1] += per_y
                    self._sums[2] += per_x
                self._done = stop
                yield stop

    def run(self) -> HistogramsAndEntropy:
        """The whole pass at once (:meth:`steps` to the end), then :meth:`result`."""
        for _ in self.steps():
            pass
        return self.result()

    def result(self) -> HistogramsAndEntropy:
        """The figures, once :meth:`steps` has run to the end.

        Raises
        ------
        RuntimeError
            The pass has not covered every slice.
        """
        if self._done < self.depth:
            raise RuntimeError(f"the pass has done {self._done} of {self.depth} slices")
        inside, total = self._histogram.reshape(2, self.channels, EDGES)
        voxels = (self.height * self.width, self.depth * self.width, self.depth * self.height)
        per_slice = tuple(sums / max(1, count) for sums, count in zip(self._sums, voxels, strict=True))
        return HistogramsAndEntropy(inside.copy(), total.copy(), self._entropy, per_slice)

    def _slices(self, slices: range) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One thread's share of a step: its histogram counts and entropy sums per row and per column (each
        slice's own sum goes straight to the per-z sums: no other thread has that slice)."""
        histogram = np.zeros_like(self._histogram)
        per_y, per_x = np.zeros(self.height, np.float64), np.zeros(self.width, np.float64)
        chunk = self.rows * self.width
        values = np.empty((self.channels, chunk), self.dtype)   # the working copy, clipped in place
        scratch = np.empty_like(values)
        index = np.empty((self.channels, chunk), np.intp)
        for z in slices:
            slice_sum = 0.0
            for start in range(0, self.height, self.rows):
                stop = min(self.height, start + self.rows)
                voxels = (stop - start) * self.width
                flat = values[:, :voxels]
                _convert(self.scores[:, z, start:stop], flat.reshape(self.channels, stop - start, self.width))
                np.clip(flat, 0.0, 1.0, out=flat)
                self._bin(histogram, flat, scratch[:, :voxels], index[:, :voxels], (z, slice(start, stop)))
                entropy = self._entropy_of(flat, scratch[:, :voxels]).reshape(stop - start, self.width)
                self._entropy[z, start:stop] = entropy
                exact = entropy.astype(np.float64)
                per_x += exact.sum(axis=0)
                row_sums = exact.sum(axis=1)
                per_y[start:stop] += row_sums
                slice_sum += float(row_sums.sum())
            self._sums[0][z] = slice_sum
        return histogram, per_y, per_x

    def _bin(self, histogram: np.ndarray, values: np.ndarray, scratch: np.ndarray, index: np.ndarray, box) -> None:
        """Count a chunk's clipped ``(C, n)`` values per channel and bin, in all and of the channel's own class."""
        target, keep = kept_target(self.target[box].reshape(-1), self.ignore_index, self.labels, self.channels)
        np.multiply(values, BINS, out=scratch)                      # exact: a power of two
        np.copyto(index, scratch, casting="unsafe")                 # floor of a non-negative value
        index += self._offsets
        add_bin_counts(histogram, index, target, keep)

    def _entropy_of(self, values: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """``(n,)`` float16 normalised entropy of clipped ``(C, n)`` values (one channel: of ``1 − p`` and ``p``),
        the steps of :func:`dice_engine.soft_scan.scan_probabilities` with one scratch array."""
        if self.channels == 1:
            values = np.concatenate((1 - values, values))
            scratch = np.empty_like(values)
        np.maximum(values, np.finfo(values.dtype).tiny, out=scratch)   # p = 0 adds 0 · log(tiny) = 0
        np.log(scratch, out=scratch)
        scratch *= values
        entropy = scratch.sum(axis=0)
        entropy *= self._entropy_scale
        np.clip(entropy, 0.0, 1.0, out=entropy)
        return entropy.astype(np.float16)


def _convert(source: np.ndarray, working: np.ndarray) -> None:
    """Copy ``source`` into ``working`` (same shape): float16 to float32 with torch's vectorised conversion,
    one class at a time (numpy's is several times slower), else with numpy (torch wraps neither read-only
    arrays nor negative strides)."""
    if source.flags.writeable and working.dtype == np.float32 and min(source.strides) >= 0:
        into, values = torch.from_numpy(working), torch.from_numpy(source)
        for channel in range(working.shape[0]):
            into[channel].copy_(values[channel])
    else:
        np.copyto(working, source)
