"""The checks' pass at open: finite values, range, class sums, the argmax and a given mask's agreement, in one
threaded read of the scores, mostly through the values' bit patterns.

Opening model output (docs/architecture.md §8, §8d) checks every value (finite; probabilities within range
and summing to one per voxel), and in the same read derives the model's prediction (no ``--pred``) or
counts where a given predicted mask disagrees with it (``--pred``). :func:`check_scores` does this for
probabilities **and logits**, with the decisions of the float64 slab path
(:func:`dice_engine.soft_probabilities.disagreement` / :func:`~dice_engine.soft_probabilities.predict`).

Why bit patterns: a finite IEEE float's bit pattern read as a sign-magnitude integer orders like the value,
and two finite values are equal exactly when these keys are (``-0.0`` and ``0.0`` both become 0). So the
range, the non-finite test, the class maximum, the argmax (ties to the lowest class) and "at least the
decisive level" are integer operations on the file's own bytes, with no float32 copy. Only the class sums
(probabilities) and the softmax's size (logits) need float32 values, converted one chunk at a time.

Logits: the argmax of the softmax is the logits' argmax, and the largest softmax value is ``1 / S`` with
``S = Σ_c exp(l_c − max l)``. ``S`` is summed in float32 with a proven error bound (below); a voxel whose
``S`` lies within that bound of ``1 / decisive``, or with another class's logit so close to the largest
that float64 could round their softmax values to a tie, is decided again in float64 (as the slab path,
:class:`~dice_engine.soft_probabilities.ClassProbabilities`, decides every voxel), on those voxels only.

Work is shared out by slices to a pool of threads; every numpy call covers a whole chunk of rows
(:data:`CHUNK_VOXELS`), so the threads spend their time in numpy, not waiting for the GIL.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch

from dice_engine.soft_probabilities import first_argmax
from dice_engine.soft_scan import ScanResult, over_slices

CHUNK_VOXELS = 1 << 17
"""Voxels (whole rows) one thread works on at once: 14 float16 classes are 3.5 MiB of keys and 7 MiB of float32
values (for the sums). Fewer, larger numpy calls: with 16 Ki voxels the second thread mostly waited for the GIL."""
TORCH_GRAIN = 32768
"""torch's parallel grain: a float16 -> float32 conversion of fewer values stays on the calling thread, instead of
starting torch's own threads on the cores the pool already uses (see :meth:`_CheckPass._floats`)."""
TIE_GAP = 2.0**-33
"""Two logits closer than 1e-10 may get equal float64 softmax values (a tie, which goes to the lower class); a
gap of 1e-10 or more never does (``exp`` and the division keep a relative difference of 1e-10 apart). A float32
gap below 1e-10 is computed as at most this (1.16e-10) in magnitude."""
TIE_MAGNITUDE = 2.0**-9
"""Distinct float32 values less than 1e-10 apart both lie below this in magnitude (from 2^-9 on, neighbours
are at least 2^-33 apart); distinct float16 values never are (their spacing is at least 2^-24)."""


def check_scores(scores: np.ndarray, *, from_logits: bool = False, argmax: bool = False,
                 agree_with: np.ndarray | None = None, decisive: float = 0.9, threshold: float = 0.5,
                 workers: int | None = None) -> ScanResult:
    """Check ``(C, z, y, x)`` class scores and derive their prediction or agreement in one threaded pass.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` float16, float32 or float64 probabilities or logits; any strides, never written.
    from_logits : bool
        The scores are logits: softmax over the classes (one channel: sigmoid). Logits get no sum figure.
    argmax : bool
        Derive the prediction: the argmax of the probabilities (of the softmax of logits), ties to the lowest
        class (several channels only; one channel's ``p >= threshold`` is derived elsewhere).
    agree_with : np.ndarray, optional
        ``(z, y, x)`` integer labels of a predicted mask given beside the scores: count where it disagrees
        with the scores' prediction (:attr:`ScanResult.disagreement`).
    decisive : float
        A voxel is decisive when its largest class probability (one channel: ``max(p, 1 − p)``) is at least
        this, decided exactly as in float64.
    threshold : float
        The one-channel foreground threshold of the scores' prediction (``p >= threshold``).
    workers : int, optional
        Threads (default: the CPU count, at most :data:`dice_engine.soft_scan.MAX_WORKERS`).

    Returns
    -------
    ScanResult
        ``low``, ``high``, ``first_nonfinite_slice``, ``worst_sum_error`` (largest ``|Σ_c p_c − 1|``
        summed in float32, float64 for float64 scores; 0 for one channel or logits); ``prediction``
        (``(z, y, x)`` uint8, int16 beyond 256 classes) when asked for; ``disagreement`` with
        ``agree_with``. The prediction and the counts hold only when every value is finite.

    Raises
    ------
    ValueError
        Scores that are not 4D floating point, or ``agree_with`` of another shape.
    """
    if scores.ndim != 4 or scores.dtype.kind != "f" or scores.dtype.itemsize not in (2, 4, 8):
        raise ValueError(f"scores must be (C, z, y, x) float16/32/64, got {scores.dtype} {scores.shape}")
    if agree_with is not None and tuple(agree_with.shape) != tuple(scores.shape[1:]):
        raise ValueError(f"agree_with shape {tuple(agree_with.shape)} does not match the scores' "
                         f"{tuple(scores.shape[1:])}")
    pass_ = _CheckPass(scores, from_logits, argmax and scores.shape[0] > 1, agree_with, decisive, threshold)
    return pass_.combine(over_slices(pass_.run, scores.shape[1], workers, "dicelens-checks"))


class _Partial:
    """One thread's running figures: smallest/largest key, worst sum error, first non-finite slice, counts."""

    def __init__(self) -> None:
        self.low_key, self.high_key, self.worst = math.inf, -math.inf, 0.0
        self.first_nonfinite: int | None = None
        self.disagreement = np.zeros(3, np.int64)


class _CheckPass:
    """The per-chunk arithmetic of one :func:`check_scores` call."""

    def __init__(self, scores, from_logits, argmax, agree_with, decisive, threshold) -> None:
        self.scores, self.from_logits, self.argmax, self.given = scores, bool(from_logits), argmax, agree_with
        self.decisive, self.threshold = float(decisive), float(threshold)
        self.channels, _, self.height, self.width = scores.shape
        self.rows = max(1, min(self.height, CHUNK_VOXELS // max(1, self.width)))
        self.signed = np.dtype(f"i{scores.dtype.itemsize}")
        self.unsigned = np.dtype(f"u{scores.dtype.itemsize}")
        self.sign = 1 << (8 * scores.dtype.itemsize - 1)
        self.infinity = int(np.array(np.inf, scores.dtype).view(self.signed))
        self.decisive_key = _key_at_least(self.decisive, scores.dtype)
        self.labels_dtype = np.uint8 if self.channels <= 256 else np.int16
        self.prediction = np.empty(scores.shape[1:], self.labels_dtype) if argmax else None
        self.several = self.channels > 1
        self.needs_labels = self.several and (argmax or agree_with is not None)
        self.sums = self.several and not self.from_logits
        self.needs_floats = self.sums or (self.from_logits and self.needs_labels)
        self.scratch = threading.local()

    def run(self, slices) -> _Partial:
        partial = _Partial()
        keys = np.empty((self.channels, self.rows * self.width), self.signed)   # for copies of odd layouts
        floats = np.empty((self.channels, self.rows * self.width) if self.needs_floats else (self.channels, 0),
                          np.float64 if self.scores.dtype == np.float64 else np.float32)
        for z in slices:
            for start in range(0, self.height, self.rows):
                stop = min(self.height, start + self.rows)
                self._chunk(partial, z, start, stop, keys, floats)
        return partial

    def _chunk(self, partial: _Partial, z: int, start: int, stop: int, keys_buffer, floats_buffer) -> None:
        n = (stop - start) * self.width
        bits = _plane_rows(self.scores[:, z, start:stop].view(self.signed), keys_buffer[:, :n])
        high_unsigned = int(bits.view(self.unsigned).max())
        negatives = high_unsigned >= self.sign   # or -0.0; without them the signed maximum is the same pattern
        high = int(bits.max()) if negatives else high_unsigned
        if high >= self.infinity or high_unsigned >= self.sign + self.infinity:   # NaN or ±Inf
            if partial.first_nonfinite is None or z < partial.first_nonfinite:
                partial.first_nonfinite = z
            return
        low_key = -(high_unsigned - self.sign) if negatives else int(bits.min())
        high_key = high if high >= 0 else -(int(bits.view(self.unsigned).min()) - self.sign)
        partial.low_key, partial.high_key = min(partial.low_key, low_key), max(partial.high_key, high_key)
        values = self._floats(bits, floats_buffer[:, :n]) if self.needs_floats else None
        if self.sums:
            partial.worst = max(partial.worst, float(np.abs(values.sum(axis=0) - 1).max()))
        if not self.needs_labels and self.given is None:
            return
        box = (z, slice(start, stop))
        if not self.several:
            labels, is_decisive = self._one_channel(bits)
        elif self.from_logits:   # the float32 copy orders and ties as the keys would: no key transform
            best = values.max(axis=0)
            labels = _first_max(values, best, self.labels_dtype)
            is_decisive = self._softmax_decisions(values, best, labels)
        else:
            keys = _ordered(bits, self.sign) if negatives else bits
            best = keys.max(axis=0)
            labels = _first_max(keys, best, self.labels_dtype)
            is_decisive = best >= self.decisive_key if self.given is not None else None
        if self.argmax:
            self.prediction[box] = labels.reshape(stop - start, self.width)
        if self.given is not None:
            differs = labels != self.given[box].reshape(-1)
            partial.disagreement += (np.count_nonzero(is_decisive), np.count_nonzero(differs & is_decisive),
                                     np.count_nonzero(differs))

    def _floats(self, bits: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The chunk's values as float32 (float64 scores: float64), exact copies; ``(C, n)``."""
        if self.scores.dtype != np.float16:
            return bits.view(self.scores.dtype)
        source, target = torch.from_numpy(bits).view(torch.float16), torch.from_numpy(out)
        if torch.get_num_threads() == 1:   # this thread's torch runs serially (the window's): one call
            target.copy_(source)
            return out
        block = max(1, (TORCH_GRAIN - 1) // self.channels)   # all classes of a block of voxels per call
        for target_block, source_block in zip(target.split(block, dim=1), source.split(block, dim=1), strict=True):
            target_block.copy_(source_block)
        return out

    def _one_channel(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One channel: ``p >= threshold`` and ``max(p, 1 − p) >= decisive`` of float64 ``p`` (for logits
        ``p = 1 / (1 + exp(−l))``)."""
        p = bits[0].view(self.scores.dtype).astype(np.float64)
        if self.from_logits:
            with np.errstate(over="ignore"):   # exp(−l) beyond float64: p = 0, as it should be
                np.exp(-p, out=p)
            p += 1
            np.reciprocal(p, out=p)
        return (p >= self.threshold).astype(self.labels_dtype), np.maximum(p, 1 - p) >= self.decisive

    def _softmax_decisions(self, values, best, labels) -> np.ndarray | None:
        """Logits: decide where the softmax is decisive, and settle near ties, as float64 would.

        Ties: only logits less than 1e-10 apart can tie in float64 (:data:`TIE_GAP`), which float32 allows
        only where the largest logit is tiny (:data:`TIE_MAGNITUDE`) and float16 never.
        Decisive: ``S = Σ_c exp(l_c − max l)`` is summed in float32. Against the exact sum, each term is off by
        at most ``2^-24 / e`` (rounding ``l_c − max l``: ``x·exp(−x) <= 1/e``) plus 4 ulp of ``exp``
        (``<= 4·2^-24``), and each addition by half an ulp of the partial sum (``<= S·2^-24``): in all below
        ``C·(5 + S)·2^-24``. Voxels within ``C·(8 + S)·2^-20`` (over 16 times that) of ``1 / decisive``, and near
        ties, are decided again in float64 (:meth:`_float64_decisions`). Modifies ``labels``.

        Parameters
        ----------
        values : np.ndarray
            ``(C, n)`` float32 (exact copies of float16/float32 logits) or float64 logits.
        best : np.ndarray
            ``(n,)`` their class maximum.
        labels : np.ndarray
            ``(n,)`` the logits' argmax (ties to the lowest class).

        Returns
        -------
        np.ndarray or None
            ``(n,)`` bool, decisive voxels (None without a given mask).
        """
        is_decisive = np.zeros(values.shape[1], bool) if self.given is not None else None
        if values.dtype == np.float64:   # float64 logits: the float64 arithmetic itself, every voxel
            self._float64_decisions(values, np.arange(values.shape[1]), labels, is_decisive)
            return is_decisive
        unsure = np.zeros(values.shape[1], bool)
        if self.scores.dtype == np.float32:
            small = np.flatnonzero(np.abs(best) < TIE_MAGNITUDE)
            gaps = values[:, small] - best[small]
            unsure[small[((gaps < 0) & (gaps >= -TIE_GAP)).any(axis=0)]] = True
        if self.given is not None:
            exps = self._exps_buffer(values.shape)
            with np.errstate(over="ignore"):   # l − max l below float32's range: −inf, whose exp is 0
                np.subtract(values, best, out=exps)
            np.exp(exps, out=exps)
            total = exps.sum(axis=0)
            limit = 1.0 / self.decisive
            np.less_equal(total, limit, out=is_decisive)
            unsure |= np.abs(total - limit) <= self.channels * (8.0 + total) * 2.0**-20
        unsure = np.flatnonzero(unsure)
        if unsure.size:
            self._float64_decisions(values, unsure, labels, is_decisive)
        return is_decisive

    def _exps_buffer(self, shape: tuple[int, int]) -> np.ndarray:
        """This thread's ``(C, n)`` float32 scratch for the softmax terms (kept: a fresh 7 MiB array per chunk
        costs page faults)."""
        buffer = getattr(self.scratch, "exps", None)
        if buffer is None or buffer.shape[1] < shape[1]:
            buffer = self.scratch.exps = np.empty((shape[0], self.rows * self.width), np.float32)
        return buffer[:, :shape[1]]

    def _float64_decisions(self, values, voxels, labels, is_decisive) -> None:
        """Label (and decisiveness) of some voxels in float64: ``p = exp(l − max l) / Σ_c exp(l_c − max l)``,
        the first class of largest ``p``, ``max p >= decisive``. numpy, not torch: torch's softmax starts its
        own threads even for a few voxels."""
        logits = np.ascontiguousarray(values[:, voxels], dtype=np.float64)
        with np.errstate(over="ignore"):
            exps = np.exp(logits - logits.max(axis=0))
        probabilities = exps / exps.sum(axis=0)
        labels[voxels] = first_argmax(probabilities)
        if is_decisive is not None:
            is_decisive[voxels] = probabilities.max(axis=0) >= self.decisive

    def combine(self, partials: list[_Partial]) -> ScanResult:
        nonfinite = [p.first_nonfinite for p in partials if p.first_nonfinite is not None]
        result = ScanResult(prediction=self.prediction, first_nonfinite_slice=min(nonfinite) if nonfinite else None,
                            worst_sum_error=max(p.worst for p in partials))
        if nonfinite:
            result.low = result.high = math.nan
        else:
            result.low = self._decoded(min(p.low_key for p in partials))
            result.high = self._decoded(max(p.high_key for p in partials))
        if self.given is not None:
            result.disagreement = tuple(int(n) for n in sum(p.disagreement for p in partials))
        return result

    def _decoded(self, key: int) -> float:
        """The float whose sign-magnitude key this is (±inf: no value was read)."""
        if not isinstance(key, int):
            return float(key)
        pattern = key if key >= 0 else self.sign - key
        return float(np.array(pattern, self.unsigned).view(self.scores.dtype))


def _plane_rows(bits: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """``(C, rows, x)`` bit patterns as ``(C, n)`` with contiguous rows: a view when each class's rows are
    contiguous and writeable (torch wraps no read-only array), else copied into ``buffer``."""
    channels, rows, width = bits.shape
    contiguous = bits.strides[2] == bits.itemsize and (rows == 1 or bits.strides[1] == width * bits.itemsize)
    if contiguous and bits.flags.writeable and bits.strides[0] >= 0:
        return bits.reshape(channels, rows * width)
    np.copyto(buffer.reshape(channels, rows, width), bits)
    return buffer


def _ordered(bits: np.ndarray, sign: int) -> np.ndarray:
    """Sign-magnitude keys of finite floats' bit patterns: ``-magnitude`` for negative values, so the keys order
    like the values and ``-0.0`` and ``0.0`` both become 0."""
    magnitude = bits & bits.dtype.type(sign - 1)
    return np.where(bits < 0, -magnitude, magnitude)


def _first_max(keys: np.ndarray, best: np.ndarray, dtype) -> np.ndarray:
    """The first class whose key equals ``best`` (the class maximum): the number of leading classes below it.

    Three whole-chunk integer operations per class and no masked stores (a class-axis ``argmax`` is a strided
    reduction, several times slower in numpy and torch alike).
    """
    below = keys[0] != best
    labels = below.astype(dtype)
    step = np.empty_like(below)
    for channel in range(1, keys.shape[0] - 1):
        np.not_equal(keys[channel], best, out=step)
        below &= step
        labels += below
    return labels


def _key_at_least(value: float, dtype: np.dtype) -> int:
    """The sign-magnitude key of the smallest ``dtype`` value ``t`` with ``float64(t) >= value``, so a key
    comparison decides ``float64(x) >= value`` exactly for every finite ``x`` of that dtype."""
    rounded = np.array(value, dtype)
    if float(rounded) < value:
        rounded = np.nextafter(rounded, np.array(np.inf, dtype))
    signed = np.dtype(f"i{np.dtype(dtype).itemsize}")
    pattern = int(rounded.view(signed))
    sign = 1 << (8 * np.dtype(dtype).itemsize - 1)
    return pattern if pattern >= 0 else -(pattern + sign)
