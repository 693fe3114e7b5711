"""Live soft Dice and soft Dice loss of a model's probabilities against an editable ground truth.

Per class ``c`` the engine keeps three sums over every voxel (ground-truth ``ignore_index`` voxels
left out): ``I_c = Σ p_c·y_c``, ``P_c = Σ p_c`` and ``Y_c = Σ y_c`` (``y`` the one-hot ground truth).
Then

    soft Dice_c = (2·I_c + s) / (P_c + Y_c + s),   soft Dice loss_c = 1 − soft Dice_c,

with smoothing ``s`` (1 by default), and the headline is the mean of the loss over the included
classes (``include_background=False``: the foreground mean, as ``dicelens score`` reports it). This is
MONAI's ``DiceLoss(softmax=True, batch=True, smooth_nr=s, smooth_dr=s)`` (one channel:
``sigmoid=True``, the foreground alone), see docs/architecture.md §5.

The sums are kept in fixed point (:mod:`dice_engine.soft_probabilities`), so editing the ground truth
updates them **exactly**: :meth:`LiveSoftDice.apply_gt_edit` changes ``I`` and ``Y`` only inside the
edited box, and ``P`` not at all (unless a voxel enters or leaves ``ignore_index``). The class works on
plain numpy in and out, so the window can own one on a job-layer lane (§4) and feed it the edit
model's deltas (region, old values, new values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dice_engine.soft_probabilities import ClassProbabilities, Region, labels_tensor
from dice_engine.soft_scan import ScanResult, scan_probabilities

SOFT_DICE_FORMULA = "soft Dice = (2Σp·y + s) / (Σp + Σy + s); loss = 1 − soft Dice"


@dataclass(frozen=True)
class SoftDiceResult:
    """A snapshot of the soft scores.

    Attributes
    ----------
    classes : np.ndarray
        ``(K,)`` int64: the label of each row (``0..C-1``; one channel: ``[1]``, the foreground).
    intersection, prob_sum, target_sum : np.ndarray
        ``(K,)`` float64: ``Σp·y``, ``Σp``, ``Σy``.
    soft_dice, soft_loss : np.ndarray
        ``(K,)`` float64 per class.
    loss_mean : float
        Mean of ``soft_loss`` over the included classes (NaN when none is left).
    smooth : float
    include_background : bool
    """

    classes: np.ndarray
    intersection: np.ndarray
    prob_sum: np.ndarray
    target_sum: np.ndarray
    soft_dice: np.ndarray
    soft_loss: np.ndarray
    loss_mean: float
    smooth: float
    include_background: bool

    def of_class(self, label: int) -> tuple[float, float]:
        """``(soft Dice, soft Dice loss)`` of one label; NaN for a label not scored."""
        rows = np.flatnonzero(self.classes == label)
        if rows.size == 0:
            return float("nan"), float("nan")
        return float(self.soft_dice[rows[0]]), float(self.soft_loss[rows[0]])


class LiveSoftDice:
    """Soft Dice of fixed probabilities against a ground truth that is being edited.

    Parameters
    ----------
    target : np.ndarray
        ``(z, y, x)`` integer ground truth (keyword-only; read once, not kept).
    preds : ClassProbabilities
        The model's probabilities (keyword-only).
    smooth : float
        ``s``.
    include_background : bool
        Include class 0 in :attr:`SoftDiceResult.loss_mean` (no effect for one channel: foreground only).
    ignore_index : int, optional
        Ground-truth label left out of every sum.
    scanned : ScanResult, optional
        The sums of this ``target`` and ``preds`` from a :func:`dice_engine.soft_scan.scan_probabilities`
        pass that computed other figures too (``sums=True``, same ``ignore_index``); float16
        probabilities only. Default: computed here.

    Raises
    ------
    ValueError
        Shapes differ, or a ground-truth label (other than ``ignore_index``) has no channel.
    """

    def __init__(self, *, target: np.ndarray, preds: ClassProbabilities, smooth: float = 1.0,
                 include_background: bool = True, ignore_index: int | None = None,
                 scanned: ScanResult | None = None) -> None:
        if tuple(target.shape) != preds.shape:
            raise ValueError(f"target shape {tuple(target.shape)} does not match the scores' {preds.shape}")
        self.probabilities = preds
        self.smooth = float(smooth)
        self.include_background = bool(include_background)
        self.ignore_index = ignore_index
        self._labels = 2 if preds.foreground_only else preds.num_channels
        self._intersection = np.zeros(self._labels, np.int64)
        self._prob_sum = np.zeros(self._labels, np.int64)
        self._target_sum = np.zeros(self._labels, np.int64)
        if preds.fast_float16:   # one threaded pass, exact (see dice_engine.soft_scan)
            if scanned is None:
                scanned = scan_probabilities(preds.scores, target=target, ignore_index=ignore_index, sums=True)
            self._intersection += scanned.intersection
            self._prob_sum += scanned.prob_sum
            self._target_sum += scanned.target_sum
        else:
            for region in preds.slabs():
                self._add(region, target[region])

    def apply_gt_edit(self, region: Region, old: np.ndarray, new: np.ndarray,
                      probabilities: torch.Tensor | None = None) -> SoftDiceResult:
        """Account for a ground-truth edit inside ``region``.

        Parameters
        ----------
        region : tuple of 3 slice
            ``(z, y, x)`` box of the edit (step 1), e.g. an edit model delta's ``region``.
        old, new : np.ndarray
            The box's ground-truth labels before and after (shape = the box's shape).
        probabilities : torch.Tensor, optional
            ``(C, dz, dy, dx)`` float64 probabilities of the box (:meth:`ClassProbabilities.probabilities`)
            when the caller has them already, e.g. to share one softmax of logits with
            :meth:`dice_engine.soft_threshold.ClassHistograms.apply_gt_edit`; default: computed here.

        Returns
        -------
        SoftDiceResult
            The scores after the edit.
        """
        old, new = np.asarray(old), np.asarray(new)
        shape = tuple(s.stop - s.start for s in region)
        if old.shape != shape or new.shape != shape:
            raise ValueError(f"old {old.shape} and new {new.shape} must have the region's shape {shape}")
        changed = old != new
        if changed.any():
            self._move(region, old, new, changed, probabilities)
        return self.result()

    def result(self) -> SoftDiceResult:
        """The current soft scores (see :class:`SoftDiceResult`)."""
        to_float = self.probabilities.to_float
        intersection, prob_sum = to_float(self._intersection), to_float(self._prob_sum)
        target_sum = self._target_sum.astype(np.float64)
        rows = np.arange(self._labels)
        if self.probabilities.foreground_only:
            rows = rows[1:]
        elif not self.include_background:
            rows = rows[1:]
        dice = (2 * intersection + self.smooth) / (prob_sum + target_sum + self.smooth)
        loss = 1 - dice
        included = rows[(prob_sum[rows] + target_sum[rows] + self.smooth) > 0]
        mean = float(np.mean(loss[included])) if included.size else float("nan")
        scored = np.arange(1, self._labels) if self.probabilities.foreground_only else np.arange(self._labels)
        return SoftDiceResult(classes=scored, intersection=intersection[scored], prob_sum=prob_sum[scored],
                              target_sum=target_sum[scored], soft_dice=dice[scored], soft_loss=loss[scored],
                              loss_mean=mean, smooth=self.smooth, include_background=self.include_background)

    def sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The exact fixed-point sums ``(Σp·y, Σp, Σy)``, ``(L,)`` int64 each (units of 2^-bits for p)."""
        return self._intersection.copy(), self._prob_sum.copy(), self._target_sum.copy()

    def _fixed(self, region: Region, box: torch.Tensor | None = None) -> torch.Tensor:
        """Fixed-point probabilities of a box, ``(L, ...)`` int64 (one channel: background ``1 − p`` added);
        ``box``: its float64 probabilities when already computed."""
        probabilities = self.probabilities
        fixed = probabilities.fixed_point(probabilities.probabilities(region) if box is None else box)
        if probabilities.foreground_only:
            fixed = torch.cat(((1 << probabilities.fixed_point_bits) - fixed, fixed))
        return fixed

    def _labels_of(self, labels: np.ndarray, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``labels`` as int64 on ``device`` with ignored voxels mapped to 0, and the mask of kept voxels."""
        target = labels_tensor(labels, device)
        if self.ignore_index is None:
            keep = torch.ones_like(target, dtype=torch.bool)
        else:
            keep = target != self.ignore_index
        if keep.any() and int(target[keep].max()) >= self._labels:
            raise ValueError(f"target: found label {int(target[keep].max())}, but the scores have "
                             f"{self.probabilities.num_channels} channel(s) (labels 0..{self._labels - 1})")
        return torch.where(keep, target, torch.zeros_like(target)), keep

    def _add(self, region: Region, labels: np.ndarray) -> None:
        fixed = self._fixed(region).reshape(self._labels, -1)                        # (L, n) int64
        target, keep = self._labels_of(labels.reshape(-1), fixed.device)
        fixed, target = fixed[:, keep], target[keep]
        self._accumulate(fixed, target, +1)
        self._prob_sum += fixed.sum(dim=1).cpu().numpy()

    def _move(self, region: Region, old: np.ndarray, new: np.ndarray, changed: np.ndarray,
              box: torch.Tensor | None) -> None:
        """Subtract the changed voxels' old labels and add their new ones, reading the box's scores once."""
        where = torch.from_numpy(np.ascontiguousarray(changed))
        fixed = self._fixed(region, box)
        fixed = fixed[:, where.to(fixed.device)]                                     # (L, n) changed voxels
        old_target, old_keep = self._labels_of(old[changed], fixed.device)
        new_target, new_keep = self._labels_of(new[changed], fixed.device)
        self._accumulate(fixed[:, old_keep], old_target[old_keep], -1)
        self._accumulate(fixed[:, new_keep], new_target[new_keep], +1)
        if not bool(torch.equal(old_keep, new_keep)):                                 # into or out of ignore_index
            entering = fixed[:, new_keep & ~old_keep].sum(dim=1) - fixed[:, old_keep & ~new_keep].sum(dim=1)
            self._prob_sum += entering.cpu().numpy()

    def _accumulate(self, fixed: torch.Tensor, target: torch.Tensor, sign: int) -> None:
        """Add ``sign`` x the voxels' ``p_y`` to ``Σp·y`` and their count to ``Σy``; ``fixed`` is ``(L, n)``."""
        gathered = fixed.gather(0, target.unsqueeze(0))[0]
        intersection = torch.zeros(self._labels, dtype=torch.int64, device=fixed.device)
        intersection.index_add_(0, target, gathered)
        self._intersection += sign * intersection.cpu().numpy()
        self._target_sum += sign * torch.bincount(target, minlength=self._labels).cpu().numpy()
