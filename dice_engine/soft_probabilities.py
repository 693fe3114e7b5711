"""Class probabilities of a model's output, derived slab by slab from scores kept in their own dtype.

A model's output is ``(C, z, y, x)`` class scores: probabilities, or logits (softmax over the classes;
a single channel is the foreground of a binary problem, sigmoid for logits). The scores stay as they
were given (float16 stays float16, no whole-volume float32 copy); :class:`ClassProbabilities`
computes float64 probabilities for one box or one slab of slices at a time, on the CPU or a GPU.

Sums of probabilities are kept in **fixed point**: ``round(p · 2^bits)`` as int64, with ``bits`` chosen
so that the sum over every voxel cannot overflow (32 bits up to 2^30 voxels). Integer sums do not
depend on the order of the additions, so an incremental update after an edit equals the sum computed
from scratch exactly (docs/architecture.md §1); float16 probabilities (multiples of 2^-24) are
represented without any rounding. The predictions derived here (argmax, or one channel ≥ threshold)
are what ``dicelens`` scores when no predicted mask is given.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

Region = tuple[slice, slice, slice]
SLAB_VALUES = 1 << 22
"""Class-score values (classes x voxels) turned into float64 probabilities at once (32 MiB)."""
MAX_FIXED_POINT_BITS = 32
FLOAT16_BITS = 24
"""float16 values in [0, 1] are whole multiples of 2^-24: in these units they are integers, and float64
sums of them are exact while they stay below 2^53 units (2^29 voxels)."""
FLOAT16_EXACT_VOXELS = 1 << 29


class ClassProbabilities:
    """Probabilities of ``(C, z, y, x)`` class scores, computed per box in float64.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` floating point (any float dtype; a read-only view is fine: it is never
        written or copied whole).
    from_logits : bool
        Softmax over the classes (several channels) or sigmoid (one channel). False: the scores are
        probabilities already.
    device : str or torch.device, optional
        Where the per-slab arithmetic runs (default CPU).

    Attributes
    ----------
    num_channels : int
        ``C``. One channel is a foreground probability (class 1 of a binary problem).
    shape : tuple of 3 int
        ``(z, y, x)``.
    fixed_point_bits : int
        Probabilities are summed as ``round(p · 2**fixed_point_bits)`` int64 values (24 for float16
        probabilities: exact, no rounding at all).
    exact_float16 : bool
        float16 probabilities of at most 2^29 voxels: whole-volume sums may be taken in float64 directly
        (exact, and much faster than the fixed-point path), see :data:`FLOAT16_BITS`.
    """

    def __init__(self, scores: np.ndarray, *, from_logits: bool, device: str | torch.device | None = None) -> None:
        if scores.ndim != 4:
            raise ValueError(f"scores must be (C, z, y, x), got shape {scores.shape}")
        if scores.dtype.kind != "f":
            raise ValueError(f"scores must be floating point, got {scores.dtype}")
        self.scores = scores
        self.from_logits = bool(from_logits)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.num_channels = int(scores.shape[0])
        self.shape = tuple(int(n) for n in scores.shape[1:])
        voxels = int(np.prod(self.shape))
        self.exact_float16 = not self.from_logits and scores.dtype == np.float16 and voxels <= FLOAT16_EXACT_VOXELS
        if self.exact_float16:
            self.fixed_point_bits = FLOAT16_BITS
        else:
            self.fixed_point_bits = min(MAX_FIXED_POINT_BITS, 62 - max(1, voxels).bit_length())

    @property
    def foreground_only(self) -> bool:
        """One channel: the foreground probability of a binary problem."""
        return self.num_channels == 1

    def probabilities(self, region: Region) -> torch.Tensor:
        """float64 probabilities of a box.

        Parameters
        ----------
        region : tuple of 3 slice
            ``(z, y, x)`` box, step 1.

        Returns
        -------
        torch.Tensor
            ``(C, dz, dy, dx)`` float64 on :attr:`device`.
        """
        raw = np.ascontiguousarray(self.scores[(slice(None), *region)])
        values = torch.from_numpy(raw).to(self.device).to(torch.float64)
        if not self.from_logits:
            return values
        if self.foreground_only:
            return torch.sigmoid(values)
        return torch.softmax(values, dim=0)

    def fixed_point(self, probabilities: torch.Tensor) -> torch.Tensor:
        """``round(p · 2**fixed_point_bits)`` as int64 (same shape): the units every sum is kept in."""
        return torch.round(probabilities * float(1 << self.fixed_point_bits)).to(torch.int64)

    def to_float(self, fixed: np.ndarray | torch.Tensor | int) -> np.ndarray:
        """Fixed-point sums back to float64 probabilities."""
        return np.asarray(fixed, dtype=np.float64) / float(1 << self.fixed_point_bits)

    @property
    def fast_float16(self) -> bool:
        """Whole-volume passes may use the float16 shortcuts (:attr:`exact_float16` on the CPU)."""
        return self.exact_float16 and self.device.type == "cpu"

    @property
    def scannable(self) -> bool:
        """float16 / float32 probabilities on the CPU: whole-volume figures may come from one threaded pass
        (:func:`dice_engine.soft_scan.scan_probabilities`)."""
        return not self.from_logits and self.scores.dtype in (np.float16, np.float32) and self.device.type == "cpu"

    def order_keys(self, region: Region) -> np.ndarray:
        """float16 probabilities of a box as int16 keys that sort like the values clipped to [0, 1].

        For non-negative float16 numbers the bit patterns order like the values; negative ones (within
        the input tolerance) become 0. Only for :attr:`exact_float16` scores.

        Returns
        -------
        np.ndarray
            ``(C, dz, dy, dx)`` int16, ``>= 0``.
        """
        if not self.exact_float16:
            raise ValueError("order keys exist only for float16 probabilities")
        keys = np.ascontiguousarray(self.scores[(slice(None), *region)]).view(np.int16)
        return np.maximum(keys, 0)

    def slabs(self, values_per_slab: int = SLAB_VALUES) -> Iterator[Region]:
        """Boxes of whole slices covering the volume, each at most ``values_per_slab`` values (>= 1 slice)."""
        depth, height, width = self.shape
        step = max(1, values_per_slab // max(1, self.num_channels * height * width))
        for start in range(0, depth, step):
            yield slice(start, min(depth, start + step)), slice(0, height), slice(0, width)


def labels_tensor(labels: np.ndarray, device: torch.device) -> torch.Tensor:
    """Integer labels as an int64 tensor on ``device`` (read-only arrays are copied: torch wraps none)."""
    if not labels.flags.writeable:
        return torch.from_numpy(labels.astype(np.int64)).to(device)
    return torch.from_numpy(np.ascontiguousarray(labels)).to(device).to(torch.int64)


def predicted_labels(probabilities: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """The hard prediction of a box's probabilities: argmax, or foreground where ``p >= threshold``.

    Parameters
    ----------
    probabilities : torch.Tensor
        ``(C, ...)`` float64 from :meth:`ClassProbabilities.probabilities`.
    threshold : float
        For one channel only.

    Returns
    -------
    torch.Tensor
        ``(...)`` uint8 labels (int16 beyond 256 classes); ties go to the lowest class (``argmax``).
    """
    dtype = torch.uint8 if probabilities.shape[0] <= 256 else torch.int16
    if probabilities.shape[0] == 1:
        return (probabilities[0] >= threshold).to(dtype)
    if probabilities.device.type == "cpu":
        return torch.from_numpy(first_argmax(probabilities.numpy()))
    return torch.argmax(probabilities, dim=0).to(dtype)


def first_argmax(values: np.ndarray) -> np.ndarray:
    """``np.argmax(values, axis=0)`` (ties: the lowest class), one class plane at a time.

    An argmax over the leading class axis is a strided reduction, several times slower (numpy and torch
    alike) than comparing whole class planes.

    Parameters
    ----------
    values : np.ndarray
        ``(C, ...)`` finite values.

    Returns
    -------
    np.ndarray
        ``(...)`` uint8 labels (int16 beyond 256 classes).
    """
    best = values[0].copy()
    labels = np.zeros(best.shape, np.uint8 if values.shape[0] <= 256 else np.int16)
    for label in range(1, values.shape[0]):
        better = values[label] > best
        labels[better] = label
        np.maximum(best, values[label], out=best)
    return labels


def predict(probabilities: ClassProbabilities, threshold: float = 0.5) -> np.ndarray:
    """The whole volume's hard prediction, slab by slab (see :func:`predicted_labels`).

    Returns
    -------
    np.ndarray
        ``(z, y, x)`` uint8 (int16 beyond 256 classes).
    """
    from dice_engine.soft_scan import scan_probabilities

    if probabilities.scannable and probabilities.num_channels > 1:   # one threaded pass
        return scan_probabilities(probabilities.scores, argmax=True).prediction
    dtype = np.uint8 if probabilities.num_channels <= 256 else np.int16
    labels = np.empty(probabilities.shape, dtype)
    for region in probabilities.slabs():
        labels[region] = predicted_labels(probabilities.probabilities(region), threshold).cpu().numpy()
    return labels


def disagreement(probabilities: ClassProbabilities, preds: np.ndarray, *, decisive: float = 0.9,
                 threshold: float = 0.5) -> tuple[int, int, int]:
    """Where a given prediction disagrees with the model's probabilities.

    Parameters
    ----------
    probabilities : ClassProbabilities
    preds : np.ndarray
        ``(z, y, x)`` integer labels, the predicted mask given beside the probabilities.
    decisive : float
        A voxel is decisive when its largest class probability (one channel: ``max(p, 1 - p)``) is
        at least this.
    threshold : float
        The one-channel foreground threshold.

    Returns
    -------
    tuple of 3 int
        ``(decisive voxels, decisive voxels where the mask's label differs from the probabilities'
        prediction, voxels where it differs at all)``.
    """
    if tuple(preds.shape) != probabilities.shape:
        raise ValueError(f"preds shape {preds.shape} does not match the scores' {probabilities.shape}")
    if probabilities.scannable:   # one threaded pass, the same decisions (see dice_engine.soft_scan)
        from dice_engine.soft_scan import scan_probabilities

        return scan_probabilities(probabilities.scores, agree_with=preds, decisive=decisive,
                                  threshold=threshold).disagreement
    decisive_count = differing_decisive = differing = 0
    for region in probabilities.slabs():
        probs = probabilities.probabilities(region)
        derived = predicted_labels(probs, threshold).to(torch.int64)
        given = torch.from_numpy(np.ascontiguousarray(preds[region])).to(probs.device).to(torch.int64)
        top = torch.maximum(probs[0], 1 - probs[0]) if probs.shape[0] == 1 else torch.amax(probs, dim=0)
        is_decisive = top >= decisive
        differs = derived != given
        decisive_count += int(is_decisive.sum())
        differing_decisive += int((differs & is_decisive).sum())
        differing += int(differs.sum())
    return decisive_count, differing_decisive, differing
