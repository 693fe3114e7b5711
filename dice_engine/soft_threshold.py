"""Thresholds of a model's probabilities: Dice-vs-threshold curves and the prediction at a threshold.

Thresholds are the bin edges ``t_k = k / 1024`` for ``k = 0..1024`` (:data:`BINS` = 1024 bins, plus one
for ``p = 1``). A voxel's bin is ``floor(p · 1024)`` (``p`` clipped to [0, 1]); multiplying by a power of
two is exact in floating point, so ``bin >= k`` exactly when ``p >= t_k``: every count derived from
the histograms equals rescoring the voxels at that threshold (docs/architecture.md §1).

- :class:`ClassHistograms`: per class channel ``c``, how many voxels fall in each bin of ``p_c``, in all
  and of class ``c``. The one-vs-rest curve of class ``c`` (predicted where ``p_c >= t``) follows from
  suffix sums: ``TP(t) = #{y = c, p_c >= t}``, ``FP(t) = #{y != c, p_c >= t}``, ``FN = #{y = c} - TP``.
- :class:`ThresholdConfusion`: for one chosen class (or the one channel of a binary model), the full
  confusion matrix at any threshold in O(C²), from per-bin counts of (ground truth, label the voxel
  gets when the chosen class does not claim it). The prediction at threshold ``t`` is: the chosen
  class where ``p_c >= t``, elsewhere the most probable other class (one channel: background).

Both follow ground-truth edits exactly and incrementally (:meth:`apply_gt_edit`, only the edited box).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dice_engine.soft_histogram_entropy import HistogramsAndEntropy
from dice_engine.soft_probabilities import ClassProbabilities, Region, labels_tensor
from dice_engine.soft_scan import ScanResult, scan_probabilities

BINS = 1024
EDGES = BINS + 1
"""Thresholds ``k / BINS`` for ``k = 0..BINS``; bin ``BINS`` holds ``p = 1`` exactly."""


def threshold_value(index: int) -> float:
    """The probability threshold of edge ``index`` (``index / 1024``)."""
    if not 0 <= index <= BINS:
        raise ValueError(f"threshold index must be in 0..{BINS}, got {index}")
    return index / BINS


def threshold_index(threshold: float) -> int:
    """The edge at or just above ``threshold`` (so ``p >= threshold`` and ``p >= edge`` agree for bin edges)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    return int(np.ceil(threshold * BINS))


def bins_of(probabilities: torch.Tensor) -> torch.Tensor:
    """``floor(clip(p, 0, 1) · 1024)`` as int64, same shape."""
    return torch.floor(probabilities.clamp(0.0, 1.0) * BINS).to(torch.int64)


def _bin_of_key() -> np.ndarray:
    """The bin of every float16 order key (:meth:`ClassProbabilities.order_keys`), int64, 32768 entries."""
    values = np.arange(1 << 15, dtype=np.uint16).view(np.float16).astype(np.float64)
    values = np.where(np.isfinite(values), values, 1.0)
    return np.floor(np.clip(values, 0.0, 1.0) * BINS).astype(np.int64)


BIN_OF_KEY = _bin_of_key()


@dataclass(frozen=True)
class DiceCurve:
    """Dice of one class against the threshold (one-vs-rest).

    Attributes
    ----------
    label : int
        The class.
    thresholds : np.ndarray
        ``(1025,)`` float64, ``k / 1024``.
    dice : np.ndarray
        ``(1025,)`` float64; NaN where the class is absent from both the ground truth and the prediction.
    tp, fp, fn : np.ndarray
        ``(1025,)`` int64 voxel counts at each threshold.
    best_index : int or None
        The threshold index of the highest Dice (the lowest such threshold on ties); None if all NaN.
    """

    label: int
    thresholds: np.ndarray
    dice: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    best_index: int | None

    @property
    def best_threshold(self) -> float | None:
        """The threshold of the highest Dice, or None."""
        return None if self.best_index is None else threshold_value(self.best_index)


def _curve(label: int, inside: np.ndarray, outside: np.ndarray) -> DiceCurve:
    return _curves([label], inside[np.newaxis], outside[np.newaxis])[0]


def _curves(labels: list[int], inside: np.ndarray, outside: np.ndarray) -> list[DiceCurve]:
    """The curves of several classes at once from ``(K, 1025)`` per-bin counts inside and outside each class."""
    tp = np.cumsum(inside[:, ::-1], axis=1)[:, ::-1].astype(np.int64)   # voxels with bin >= k
    fp = np.cumsum(outside[:, ::-1], axis=1)[:, ::-1].astype(np.int64)
    fn = inside.sum(axis=1, keepdims=True).astype(np.int64) - tp
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), np.nan)
    defined = ~np.isnan(dice)
    best = np.argmax(np.where(defined, dice, -np.inf), axis=1)   # the first highest, as np.nanargmax
    thresholds = np.arange(EDGES) / BINS
    return [DiceCurve(label, thresholds, dice[row], tp[row], fp[row], fn[row],
                      int(best[row]) if defined[row].any() else None) for row, label in enumerate(labels)]


class ClassHistograms:
    """Per class channel, voxel counts by bin of its probability: of every voxel, and of the class's own voxels.

    A class's one-vs-rest curve needs, per bin of its probability, how many voxels of that class fall there
    (``inside``) and how many voxels in all (``total``); a ground-truth edit moves a voxel out of its old
    class's ``inside`` and into its new one's, and changes ``total`` only when the voxel enters or leaves
    ``ignore_index``.

    Parameters
    ----------
    target : np.ndarray
        ``(z, y, x)`` integer ground truth (keyword-only; read once, not kept).
    preds : ClassProbabilities
        The model's probabilities (keyword-only).
    ignore_index : int, optional
        Ground-truth label left out.
    scanned : ScanResult or HistogramsAndEntropy, optional
        The histograms of this ``target`` and ``preds`` from a pass that computed other figures too
        (:func:`dice_engine.soft_scan.scan_probabilities` with ``histograms=True``, or
        :class:`dice_engine.soft_histogram_entropy.HistogramEntropyPass`; same ``ignore_index``).
        Default: computed here.

    Attributes
    ----------
    inside : np.ndarray
        ``(K, 1025)`` int64: channel, bin; voxels whose ground truth is the channel's class
        (:meth:`labels`).
    total : np.ndarray
        ``(K, 1025)`` int64: channel, bin; every voxel not ignored.

    Raises
    ------
    ValueError
        Shapes differ, or a ground-truth label (other than ``ignore_index``) has no channel.
    """

    def __init__(self, *, target: np.ndarray, preds: ClassProbabilities, ignore_index: int | None = None,
                 scanned: ScanResult | HistogramsAndEntropy | None = None) -> None:
        if tuple(target.shape) != preds.shape:
            raise ValueError(f"target shape {tuple(target.shape)} does not match the scores' {preds.shape}")
        self.probabilities = preds
        self.ignore_index = ignore_index
        self._labels = max(preds.num_channels, 2)
        self._curve_cache: dict[int, DiceCurve] = {}
        if scanned is None and preds.scannable:   # one threaded pass, the same bins
            scanned = scan_probabilities(preds.scores, target=target, ignore_index=ignore_index, histograms=True)
        if scanned is not None:
            self.inside, self.total = scanned.histogram_inside.copy(), scanned.histogram_total.copy()
        else:
            self.inside = np.zeros((preds.num_channels, EDGES), np.int64)
            self.total = np.zeros((preds.num_channels, EDGES), np.int64)
            for region in preds.slabs():
                self._add(region, target[region])

    def labels(self) -> list[int]:
        """The class of each channel (one channel: ``[1]``)."""
        return [1] if self.probabilities.foreground_only else list(range(self.probabilities.num_channels))

    def curve(self, label: int) -> DiceCurve:
        """The Dice-vs-threshold curve of one class (one-vs-rest: predicted where its probability >= t)."""
        labels = self.labels()
        if label not in labels:
            raise ValueError(f"label {label} has no channel; scored labels are {labels}")
        row = labels.index(label)
        return _curve(label, self.inside[row], self.total[row] - self.inside[row])

    def curves(self) -> dict[int, DiceCurve]:
        """Every class's curve (as :meth:`curve`).

        A class's curve depends only on its channel's counts inside the class and in all, so a ground-truth
        edit changes the curves of the labels it moved voxels from and to (all of them when voxels enter or
        leave ``ignore_index``): those are recomputed, together, and the others reused unchanged.

        Returns
        -------
        dict of int to DiceCurve
            A new dict (the curves themselves are shared, never modified).
        """
        labels = self.labels()
        stale = [label for label in labels if label not in self._curve_cache]
        if stale:
            rows = np.array([labels.index(label) for label in stale])
            inside = self.inside[rows]
            self._curve_cache.update((curve.label, curve)
                                     for curve in _curves(stale, inside, self.total[rows] - inside))
        return {label: self._curve_cache[label] for label in labels}

    def apply_gt_edit(self, region: Region, old: np.ndarray, new: np.ndarray,
                      probabilities: torch.Tensor | None = None) -> None:
        """Move the voxels of an edited box between ground-truth labels (see :class:`LiveSoftDice`).

        Parameters
        ----------
        region : tuple of 3 slice
        old, new : np.ndarray
            The box's ground-truth labels before and after.
        probabilities : torch.Tensor, optional
            ``(C, dz, dy, dx)`` float64 probabilities of the box
            (:meth:`ClassProbabilities.probabilities`) when the caller has them already (a softmax of
            logits is then shared with :meth:`LiveSoftDice.apply_gt_edit`); default: computed here.
        """
        old, new = np.asarray(old), np.asarray(new)
        changed = old != new
        if not changed.any():
            return
        if probabilities is None:
            probabilities = self.probabilities.probabilities(region)
        bins = bins_of(probabilities[:, torch.from_numpy(changed).to(probabilities.device)]).cpu().numpy()
        bins += (np.arange(bins.shape[0]) * EDGES)[:, np.newaxis]                    # (K, n) flat channel and bin
        old_target, old_keep = _kept_target_numpy(old[changed], self.ignore_index, self._labels)
        new_target, new_keep = _kept_target_numpy(new[changed], self.ignore_index, self._labels)
        self._count_inside(bins, old_target, old_keep, -1)   # only the changed voxels' counts move
        self._count_inside(bins, new_target, new_keep, +1)
        if np.array_equal(old_keep, new_keep):   # the curves of the labels the voxels left and joined changed
            for label in np.union1d(old[changed], new[changed]).tolist():
                self._curve_cache.pop(label, None)
        else:                                    # voxels entered or left ignore_index: every channel's total
            total = self.total.reshape(-1)
            np.add.at(total, bins[:, new_keep & ~old_keep].reshape(-1), 1)
            np.add.at(total, bins[:, old_keep & ~new_keep].reshape(-1), -1)
            self._curve_cache.clear()

    def _count_inside(self, bins: np.ndarray, target: np.ndarray, keep: np.ndarray, sign: int) -> None:
        """Add ``sign`` for each kept voxel to its class's channel at the bin of its own class's probability;
        ``bins`` ``(K, n)`` flat channel-and-bin indices, ``target`` ``(n,)`` labels."""
        if self.probabilities.foreground_only:
            voxels = np.flatnonzero(keep & (target == 1))
            flat = bins[0, voxels]
        else:
            voxels = np.flatnonzero(keep)
            flat = bins[target[voxels], voxels]
        np.add.at(self.inside.reshape(-1), flat, sign)

    def _add(self, region, labels) -> None:
        bins = bins_of(self.probabilities.probabilities(region)).cpu().numpy()
        bins = bins.reshape(bins.shape[0], -1) + (np.arange(bins.shape[0]) * EDGES)[:, np.newaxis]
        target, keep = _kept_target_numpy(labels, self.ignore_index, self._labels)
        self.total += np.bincount(bins[:, keep].reshape(-1), minlength=self.total.size).reshape(self.total.shape)
        self._count_inside(bins, target, keep, +1)


class ThresholdConfusion:
    """The confusion matrix at any threshold of one class (one-vs-rest), updated with ground-truth edits.

    Parameters
    ----------
    target : np.ndarray
        ``(z, y, x)`` ground truth (keyword-only; read once, not kept).
    preds : ClassProbabilities
        The model's probabilities (keyword-only).
    label : int
        The thresholded class (one channel: 1).
    ignore_index : int, optional
        Ground-truth label left out.
    """

    def __init__(self, *, target: np.ndarray, preds: ClassProbabilities, label: int,
                 ignore_index: int | None = None) -> None:
        if tuple(target.shape) != preds.shape:
            raise ValueError(f"target shape {tuple(target.shape)} does not match the scores' {preds.shape}")
        self._labels = max(preds.num_channels, 2)
        allowed = [1] if preds.foreground_only else list(range(preds.num_channels))
        if label not in allowed:
            raise ValueError(f"label {label} has no channel; thresholdable labels are {allowed}")
        self.probabilities, self.label, self.ignore_index = preds, label, ignore_index
        self._counts = np.zeros((EDGES, self._labels, self._labels), np.int64)  # bin, ground truth, other label
        for region in preds.slabs():
            if preds.fast_float16:
                self._add_float16(region, target[region])
            else:
                self._add(region, target[region], +1)
        self._prefix = None

    def confusion(self, index: int) -> np.ndarray:
        """``(C, C)`` int64 confusion matrix (rows = ground truth) of the prediction at threshold edge ``index``."""
        threshold_value(index)
        if self._prefix is None:
            self._prefix = np.concatenate((np.zeros((1, self._labels, self._labels), np.int64),
                                           np.cumsum(self._counts, axis=0)))
        below = self._prefix[index]                       # voxels with bin < index keep their other label
        cm = below.copy()
        cm[:, self.label] += (self._prefix[-1] - below).sum(axis=1)   # the rest are claimed by the class
        return cm

    def curve(self) -> DiceCurve:
        """The chosen class's Dice-vs-threshold curve (as :meth:`ClassHistograms.curve`)."""
        inside = self._counts[:, self.label, :].sum(axis=1)
        return _curve(self.label, inside, self._counts.sum(axis=(1, 2)) - inside)

    def apply_gt_edit(self, region: Region, old: np.ndarray, new: np.ndarray) -> None:
        """Move the voxels of an edited box between ground-truth rows (only that box is read)."""
        old, new = np.asarray(old), np.asarray(new)
        changed = old != new
        if changed.any():
            self._add(region, old, -1, changed)
            self._add(region, new, +1, changed)
            self._prefix = None

    def _add_float16(self, region, labels) -> None:
        """:meth:`_add` for float16 probabilities, on order keys (same bins, same other labels)."""
        target, keep = _kept_target_numpy(labels, self.ignore_index, self._labels)
        keys = self.probabilities.order_keys(region).reshape(self.probabilities.num_channels, -1)
        if self.probabilities.foreground_only:
            index = BIN_OF_KEY[keys[0]] * self._labels
        else:
            index = BIN_OF_KEY[keys[self.label]] * self._labels
            keys[self.label] = -1
        index += target
        index *= self._labels
        if not self.probabilities.foreground_only:
            index += np.argmax(keys, axis=0)
        counted = np.bincount(index[keep] if not keep.all() else index, minlength=self._counts.size)
        self._counts += counted.reshape(self._counts.shape)

    def _add(self, region, labels, sign, only=None) -> None:
        probabilities = self.probabilities.probabilities(region)
        bins, other = _bins_and_other_label(probabilities, self.label, self.probabilities.foreground_only)
        target, keep = _kept_target(labels, probabilities.device, self.ignore_index, only)
        if target.numel() and int(target.max()) >= self._labels:
            raise ValueError(f"target: found label {int(target.max())}, but the scores score labels "
                             f"0..{self._labels - 1}")
        index = (bins[keep] * self._labels + target) * self._labels + other[keep]
        counted = torch.bincount(index, minlength=self._counts.size)
        self._counts += sign * counted.cpu().numpy().reshape(self._counts.shape)


def threshold_prediction(probabilities: ClassProbabilities, region: Region, *, label: int, index: int) -> np.ndarray:
    """The prediction of a box at threshold edge ``index`` for class ``label`` (see the module notes).

    Returns
    -------
    np.ndarray
        The box's labels, uint8 (int16 beyond 256 classes).
    """
    threshold_value(index)
    probs = probabilities.probabilities(region)
    bins, other = _bins_and_other_label(probs, label, probabilities.foreground_only)
    labels = torch.where(bins >= index, torch.full_like(other, label), other)
    return labels.cpu().numpy().astype(np.uint8 if probabilities.num_channels <= 256 else np.int16)


def _bins_and_other_label(probabilities: torch.Tensor, label: int, foreground_only: bool):
    """The bin of the chosen class's probability and the label a voxel gets when the class does not claim it."""
    if foreground_only:
        bins = bins_of(probabilities[0])
        return bins, torch.zeros_like(bins)
    bins = bins_of(probabilities[label])
    others = probabilities.clamp(0.0, 1.0)   # as the float16 order keys: ties among clipped values go first
    others[label] = -1.0
    return bins, torch.argmax(others, dim=0)


def _kept_target_numpy(labels: np.ndarray, ignore_index, num_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat int64 labels (ignored voxels as 0) and the mask of kept voxels; a label without a channel raises."""
    target = labels.reshape(-1).astype(np.int64)
    keep = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    target = np.where(keep, target, 0)
    if target.size and int(target.max()) >= num_labels:
        raise ValueError(f"target: found label {int(target.max())}, but the scores score labels 0..{num_labels - 1}")
    return target, keep


def _kept_target(labels: np.ndarray, device, ignore_index, only):
    target = labels_tensor(labels, device)
    keep = torch.ones_like(target, dtype=torch.bool)
    if only is not None:
        keep &= torch.from_numpy(np.ascontiguousarray(only)).to(device)
    if ignore_index is not None:
        keep &= target != ignore_index
    return target[keep], keep
