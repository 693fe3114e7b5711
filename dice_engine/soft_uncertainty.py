"""Per-voxel uncertainty of a model's probabilities, and its mean per slice.

Two measures, both in [0, 1] (0 = certain):

- ``"entropy"``: ``−Σ_c p_c log p_c / log C`` (one channel: the binary entropy of ``p`` over ``log 2``);
- ``"margin"``: ``1 − max_c p_c`` (one channel: ``1 − max(p, 1 − p)``).

Computed per box or slab (:class:`dice_engine.soft_probabilities.ClassProbabilities`), so the window
can draw the slice on screen and the per-slice plot can show the mean beside the Dice
(docs/architecture.md §3: the GUI never computes a number itself).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dice_engine.soft_probabilities import ClassProbabilities, Region

MEASURES = ("entropy", "margin")


def voxel_uncertainty(probabilities: torch.Tensor, measure: str = "entropy") -> torch.Tensor:
    """Uncertainty of each voxel of a box of probabilities.

    Parameters
    ----------
    probabilities : torch.Tensor
        ``(C, ...)`` float64 (``C = 1``: a foreground probability).
    measure : {"entropy", "margin"}

    Returns
    -------
    torch.Tensor
        ``(...)`` float64 in [0, 1].
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    probs = probabilities.clamp(0.0, 1.0)
    if probs.shape[0] == 1:
        probs = torch.cat((1 - probs, probs))
    if measure == "margin":
        return 1 - probs.max(dim=0).values
    logs = torch.where(probs > 0, torch.log(probs.clamp_min(1e-300)), torch.zeros_like(probs))
    return (-(probs * logs).sum(dim=0) / math.log(probs.shape[0])).clamp(0.0, 1.0)


def region_uncertainty(probabilities: ClassProbabilities, region: Region, measure: str = "entropy") -> np.ndarray:
    """The uncertainty of a box (e.g. the slice on screen), float64 of the box's shape."""
    return voxel_uncertainty(probabilities.probabilities(region), measure).cpu().numpy()


def slice_uncertainty(probabilities: ClassProbabilities, axis: int = 0, measure: str = "entropy") -> np.ndarray:
    """Mean uncertainty of every slice along ``axis`` (0 = z, 1 = y, 2 = x).

    Returns
    -------
    np.ndarray
        ``(n,)`` float64, ``n`` = the volume's size along ``axis``.
    """
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    sums = np.zeros(probabilities.shape[axis], np.float64)
    for region in probabilities.slabs():
        values = voxel_uncertainty(probabilities.probabilities(region), measure)
        reduce = tuple(d for d in range(3) if d != axis)
        partial = values.sum(dim=reduce).cpu().numpy()
        if axis == 0:
            sums[region[0]] += partial
        else:
            sums += partial
    per_slice = math.prod(probabilities.shape) // probabilities.shape[axis]
    return sums / max(1, per_slice)


def next_uncertain_slice(per_slice: np.ndarray, current: int) -> int:
    """The slice to visit after ``current`` when stepping through slices from most to least uncertain.

    Slices are ranked by mean uncertainty (highest first; equal values by index); the answer is the
    slice ranked right after ``current`` (after the last, the most uncertain again).

    Parameters
    ----------
    per_slice : np.ndarray
        ``(n,)`` from :func:`slice_uncertainty`.
    current : int
        The slice on screen.
    """
    order = np.lexsort((np.arange(per_slice.size), -np.asarray(per_slice, np.float64)))
    if not 0 <= current < per_slice.size:
        return int(order[0])
    rank = int(np.flatnonzero(order == current)[0])
    return int(order[(rank + 1) % order.size])
