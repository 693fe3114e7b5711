"""Scores of one confusion matrix in numpy alone: per-class metrics, Dice averages, the hard Dice loss.

The matrix is small (``(C, C)``), so numpy does this work at a fraction of torch's per-call cost, and
without torch at all: the window's first table (:mod:`dice_engine.first_table`) is scored before torch
has been imported (docs/architecture.md §10). :mod:`dice_engine.metrics` and :mod:`dice_engine.loss`
take any array-like (torch tensors included) and call these functions on its numpy copy. Conventions
are those of docs/architecture.md §5: rows = ground truth; a class absent from both masks has no
defined Dice (NaN) and is left out of averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AVERAGES = ("micro", "macro", "weighted", "none")


@dataclass(frozen=True)
class ClassMetrics:
    """Per-class scores of one confusion matrix; every field is a ``(C,)`` numpy array.

    Counts are int64; scores float64 with NaN where undefined (0/0). Volumes are in millilitres
    (voxel count × voxel volume) and ``None`` when no voxel volume was given.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    gt_voxels: np.ndarray
    pred_voxels: np.ndarray
    dice: np.ndarray
    iou: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    specificity: np.ndarray
    gt_volume_ml: np.ndarray | None = None
    pred_volume_ml: np.ndarray | None = None
    volume_difference_ml: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        """``C``."""
        return int(self.tp.shape[0])


def square_matrix(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` unchanged if it is a ``(C, C)`` matrix; ValueError otherwise."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {tuple(matrix.shape)}")
    return matrix


def matrix_counts(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.int64]:
    """TP, FP, FN (``(C,) int64``) and the voxel total of a ``(C, C)`` numpy confusion matrix."""
    matrix = square_matrix(np.asarray(matrix)).astype(np.int64)
    tp = np.diagonal(matrix).copy()
    return tp, matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp, matrix.sum()


def class_metrics_of_matrix(matrix: np.ndarray, voxel_volume_ml: float | None = None) -> ClassMetrics:
    """Every per-class score DiceLens shows, from one ``(C, C)`` numpy confusion matrix.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(C, C)`` integer counts, rows = ground truth, columns = prediction.
    voxel_volume_ml : float, optional
        Volume of one voxel in ml (spacing product in mm³ / 1000), for the volume fields.

    Returns
    -------
    ClassMetrics
        Dice, IoU = TP/(TP+FP+FN), precision = TP/(TP+FP), recall = TP/(TP+FN),
        specificity = TN/(TN+FP), counts and volumes, each ``(C,)``.
    """
    tp, fp, fn, total = matrix_counts(matrix)
    tn = total - tp - fp - fn
    volumes: dict[str, np.ndarray | None] = {}
    if voxel_volume_ml is not None:
        gt_ml = (tp + fn) * float(voxel_volume_ml)
        pred_ml = (tp + fp) * float(voxel_volume_ml)
        volumes = {"gt_volume_ml": gt_ml, "pred_volume_ml": pred_ml, "volume_difference_ml": pred_ml - gt_ml}
    return ClassMetrics(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        gt_voxels=tp + fn,
        pred_voxels=tp + fp,
        dice=ratio(2 * tp, 2 * tp + fp + fn),
        iou=ratio(tp, tp + fp + fn),
        precision=ratio(tp, tp + fp),
        recall=ratio(tp, tp + fn),
        specificity=ratio(tn, tn + fp),
        **volumes,
    )


def average_dice_of_matrix(matrix: np.ndarray, average: str = "macro",
                           include_background: bool = True) -> tuple[float, int]:
    """Average Dice over the included classes of a ``(C, C)`` numpy confusion matrix.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(C, C)`` integer counts, rows = ground truth.
    average : {"macro", "micro", "weighted"}
        macro: mean of defined per-class Dice; micro: ``2ΣTP / (2ΣTP + ΣFP + ΣFN)``;
        weighted: mean of defined per-class Dice weighted by ground-truth voxel count (0 when
        no included class has ground-truth voxels but one is predicted: every defined Dice is 0).
    include_background : bool
        Include class 0.

    Returns
    -------
    value : float
        NaN only when no included class has a defined value (absent from both masks).
    n_undefined : int
        Number of included classes left out because they are absent from both masks.
    """
    if average not in ("macro", "micro", "weighted"):
        raise ValueError(f"average must be 'macro', 'micro' or 'weighted', got {average!r}")
    tp, fp, fn = (x.astype(np.float64) for x in matrix_counts(matrix)[:3])
    if not include_background:
        tp, fp, fn = tp[1:], fp[1:], fn[1:]
    dice = ratio(2 * tp, 2 * tp + fp + fn)
    defined = ~np.isnan(dice)
    n_undefined = int((~defined).sum())
    return _average(tp, fp, fn, dice, defined, average), n_undefined


def hard_dice_loss_of_matrix(matrix: np.ndarray, smooth: float = 1.0, include_background: bool = True) -> float:
    """Dice loss ``1 − (2TP + s) / (2TP + FP + FN + s)`` of hard label maps, from their ``(C, C)`` numpy
    confusion matrix, averaged over the included classes (NaN when none is defined or left)."""
    matrix = square_matrix(np.asarray(matrix)).astype(np.float64)
    numerator = 2 * np.diagonal(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)  # 2TP + FP + FN
    if not include_background:
        numerator, denominator = numerator[1:], denominator[1:]
    defined = (denominator + smooth) > 0
    if not defined.any():
        return float("nan")
    return float(np.mean(1 - (numerator[defined] + smooth) / (denominator[defined] + smooth)))


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as float64, NaN where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.full(np.shape(numerator), np.nan), where=denominator > 0,
                     dtype=np.float64)


def _average(tp, fp, fn, dice, defined, average: str) -> float:
    if average == "macro":
        return float(dice[defined].mean()) if bool(defined.any()) else float("nan")
    if average == "micro":
        denominator = float((2 * tp + fp + fn).sum())
        return float(2 * tp.sum()) / denominator if denominator > 0 else float("nan")
    if not bool(defined.any()):
        return float("nan")
    weights = (tp + fn)[defined]
    if float(weights.sum()) == 0:
        # Every defined class is predicted without ground truth, so each scores 0: the weighted
        # mean of zeros is 0 (as torchmetrics), not undefined. False positives are penalised.
        return 0.0
    return float((dice[defined] * weights).sum() / weights.sum())


def table_scores_of_matrix(matrix: np.ndarray, voxel_volume_ml: float | None = None
                           ) -> tuple[ClassMetrics, float, int, float]:
    """Everything the window's Dice table shows, from one ``(C, C)`` matrix in one pass over its counts.

    The same numbers, bit for bit, as :func:`class_metrics_of_matrix`, :func:`average_dice_of_matrix`
    (macro, foreground) and :func:`hard_dice_loss_of_matrix` (smooth 1, foreground), which each recount
    the matrix: the engine worker scores every brush segment, so it counts TP, FP and FN once and
    divides all five ratios in one call (docs/architecture.md §3).

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(C, C)`` integer counts, rows = ground truth, columns = prediction.
    voxel_volume_ml : float, optional
        Volume of one voxel in ml, for the volume fields.

    Returns
    -------
    metrics : ClassMetrics
        Per-class ``(C,)`` counts, scores and volumes.
    dice_mean_foreground : float
        Mean of the defined Dice of classes 1 .. C-1; NaN when none is defined.
    n_undefined_foreground : int
        Foreground classes absent from both masks (left out of that mean).
    dice_loss_hard : float
        ``1 - (2TP + 1) / (2TP + FP + FN + 1)`` averaged over classes 1 .. C-1; NaN when the mean Dice is
        (no foreground class in either mask), not the smoothed 0 ("perfect") of absent classes.
    """
    matrix = square_matrix(np.asarray(matrix)).astype(np.int64, copy=False)
    tp = np.diagonal(matrix).copy()
    pred_voxels, gt_voxels = matrix.sum(axis=0), matrix.sum(axis=1)
    fp, fn = pred_voxels - tp, gt_voxels - tp
    tn = gt_voxels.sum() - tp - fp - fn
    both = pred_voxels + gt_voxels   # 2TP + FP + FN
    scores = ratio(np.array((2 * tp, tp, tp, tp, tn)), np.array((both, tp + fp + fn, pred_voxels, gt_voxels, tn + fp)))
    dice = scores[0]
    volumes: dict[str, np.ndarray | None] = {}
    if voxel_volume_ml is not None:
        gt_ml, pred_ml = gt_voxels * float(voxel_volume_ml), pred_voxels * float(voxel_volume_ml)
        volumes = {"gt_volume_ml": gt_ml, "pred_volume_ml": pred_ml, "volume_difference_ml": pred_ml - gt_ml}
    metrics = ClassMetrics(tp=tp, fp=fp, fn=fn, tn=tn, gt_voxels=gt_voxels, pred_voxels=pred_voxels, dice=dice,
                           iou=scores[1], precision=scores[2], recall=scores[3], specificity=scores[4], **volumes)
    foreground = dice[1:]
    defined = ~np.isnan(foreground)
    n_defined = int(np.count_nonzero(defined))
    if n_defined == 0:
        return metrics, float("nan"), int(foreground.shape[0]), float("nan")
    mean = float(foreground[defined].sum() / n_defined)   # numpy's mean, bit for bit, without its overhead
    losses = 1 - ((2 * tp[1:]).astype(np.float64) + 1.0) / (both[1:].astype(np.float64) + 1.0)
    loss = float(losses.sum() / losses.shape[0])
    return metrics, mean, int(foreground.shape[0]) - n_defined, loss
