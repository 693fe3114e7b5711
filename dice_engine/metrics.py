"""Scores from a confusion matrix, their averages, and the functional ``dice_score``.

Conventions (docs/architecture.md §5): per class ``Dice = 2TP / (2TP + FP + FN)``; a class absent from both
ground truth and prediction has undefined Dice (NaN) and is left out of averages; a class absent
from the ground truth but predicted has Dice 0. Averages over the included classes: macro =
mean of defined values, micro = ``2ΣTP / (2ΣTP + ΣFP + ΣFN)``, weighted = mean weighted by
ground-truth voxel count. This equals torchmetrics' ``dice_score(input_format="index",
aggregation_level="global")``; MONAI's ``DiceMetric(ignore_empty=True)`` instead returns NaN
whenever the ground truth of a class is empty, even if it was predicted. ``dice_score`` takes
``target=`` and ``preds=`` by keyword only (see :mod:`dice_engine`).
"""

from __future__ import annotations

import numpy as np
import torch

from dice_engine._inputs import ArrayLike, as_tensor
from dice_engine.confusion import confusion_matrix
from dice_engine.matrix_scores import AVERAGES, ClassMetrics, average_dice_of_matrix, class_metrics_of_matrix, ratio

SMALL_COUNTS = 1 << 16
"""Up to this many counts on the CPU, :func:`dice_from_counts` computes with numpy (a live table's
per-edit Dice: numpy's per-call cost is a fraction of torch's)."""


def dice_from_counts(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    """Dice ``2TP / (2TP + FP + FN)`` elementwise; NaN where the class is absent from both.

    Parameters
    ----------
    tp, fp, fn : torch.Tensor
        Integer counts of any (equal) shape, e.g. ``(C,)`` or per slice ``(S, C)``.

    Returns
    -------
    torch.Tensor
        float64, same shape.
    """
    if tp.device.type == "cpu" and tp.numel() <= SMALL_COUNTS:   # numpy: a fraction of torch's per-call cost
        twice_tp = 2 * tp.numpy().astype(np.int64)
        return torch.from_numpy(ratio(twice_tp, twice_tp + fp.numpy() + fn.numpy()))   # as matrix_scores does
    numerator = 2 * tp.to(torch.float64)
    denominator = numerator + fp.to(torch.float64) + fn.to(torch.float64)
    return torch.where(denominator > 0, numerator / denominator.clamp(min=1), torch.nan)


def dice_from_confusion(cm: ArrayLike) -> torch.Tensor:
    """Per-class Dice from a confusion matrix.

    Parameters
    ----------
    cm : array-like
        ``(C, C)`` counts, rows = ground truth, columns = prediction.

    Returns
    -------
    torch.Tensor
        ``(C,) float64``, NaN where the class is absent from both ground truth and prediction.
    """
    tp, fp, fn = _tp_fp_fn(_as_confusion(cm))
    return dice_from_counts(tp, fp, fn)


def class_metrics(cm: ArrayLike, voxel_volume_ml: float | None = None) -> ClassMetrics:
    """Every per-class score DiceLens shows, from one confusion matrix.

    Parameters
    ----------
    cm : array-like
        ``(C, C)`` counts, rows = ground truth, columns = prediction.
    voxel_volume_ml : float, optional
        Volume of one voxel in ml (spacing product in mm³ / 1000), for the volume fields.

    Returns
    -------
    ClassMetrics
        Dice, IoU = TP/(TP+FP+FN), precision = TP/(TP+FP), recall = TP/(TP+FN),
        specificity = TN/(TN+FP), counts and volumes, each ``(C,)``
        (:func:`dice_engine.matrix_scores.class_metrics_of_matrix` of its numpy copy).
    """
    return class_metrics_of_matrix(_numpy_matrix(cm), voxel_volume_ml)


def average_dice(cm: ArrayLike, average: str = "macro", include_background: bool = True) -> tuple[float, int]:
    """Average Dice over the included classes of a confusion matrix.

    Parameters
    ----------
    cm : array-like
        ``(C, C)`` counts, rows = ground truth.
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
    return average_dice_of_matrix(_numpy_matrix(cm), average, include_background)


def dice_score(
    *,
    target: ArrayLike,
    preds: ArrayLike,
    num_classes: int | None = None,
    average: str = "macro",
    include_background: bool = True,
    ignore_index: int | None = None,
    class_dim: int = 1,
) -> torch.Tensor:
    """Dice score of a prediction, averaged over classes (global aggregation over all voxels).

    Parameters
    ----------
    target : array-like of int
        Ground-truth label map (keyword-only).
    preds : array-like
        Either a label map of ``target``'s shape (any integer dtype), or float class scores with
        one more dimension than ``target``, classes along ``class_dim`` (torchmetrics' ``(N, C, ...)``
        layout by default): the arg-max class is taken; a single score channel is binary
        (foreground where the probability > 0.5: scores in [0, 1] are read as probabilities,
        others as logits, i.e. foreground where the logit > 0). Keyword-only.
    num_classes : int, optional
        ``C``; inferred from the labels (or the score channels) when ``None``.
    average : {"macro", "micro", "weighted", "none"}
        See :func:`average_dice`; ``"none"`` returns the per-class values.
    include_background : bool
        Include class 0 (default True, as torchmetrics).
    ignore_index : int, optional
        Target value excluded from every count.
    class_dim : int
        Class axis of float scores.

    Returns
    -------
    torch.Tensor
        float64 scalar (NaN when no included class is defined), or ``(C,)`` / ``(C - 1,)`` for "none".

    Examples
    --------
    >>> float(dice_score(target=[1, 1, 2, 0], preds=[2, 0, 2, 1], average="micro"))
    0.25
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    labels, num_classes = scores_to_labels(target=target, preds=preds, num_classes=num_classes, class_dim=class_dim)
    cm = confusion_matrix(target=target, preds=labels, num_classes=num_classes, ignore_index=ignore_index)
    if average == "none":
        dice = dice_from_confusion(cm)
        return dice if include_background else dice[1:]
    value, _ = average_dice(cm, average, include_background)
    return torch.tensor(value, dtype=torch.float64, device=cm.device)


def scores_to_labels(*, target: ArrayLike, preds: ArrayLike, num_classes: int | None, class_dim: int = 1):
    """Turn class scores into a label map; pass label maps through.

    Parameters
    ----------
    target : array-like
        Ground-truth labels (only its number of dimensions is used).
    preds : array-like
        Label map of ``target``'s shape, or float scores with one more dimension (classes along
        ``class_dim``).
    num_classes : int or None
        ``C`` as given by the caller.
    class_dim : int
        Class axis of the scores.

    Returns
    -------
    labels : array-like
        Label map of ``target``'s shape.
    num_classes : int or None
        ``C`` (2 for a single binary channel, the channel count for multi-channel scores).
    """
    preds_t = as_tensor(preds, "preds")
    target_ndim = as_tensor(target, "target").dim()
    if preds_t.dim() != target_ndim + 1:
        return preds, num_classes
    if not preds_t.is_floating_point():
        raise ValueError(
            f"preds has one more dimension than target ({tuple(preds_t.shape)}), so it is read as class "
            f"scores, which must be floating point; got {preds_t.dtype}"
        )
    if not bool(torch.isfinite(preds_t).all()):
        raise ValueError("preds: class scores contain NaN or infinite values")
    channels = preds_t.shape[class_dim]
    if channels == 1:
        scores = preds_t.squeeze(class_dim)
        threshold = 0.5 if bool(((scores >= 0) & (scores <= 1)).all()) else 0.0
        return (scores > threshold).to(torch.uint8), num_classes or 2
    if num_classes is not None and num_classes != channels:
        raise ValueError(f"preds has {channels} class channels along dim {class_dim}, but num_classes={num_classes}")
    return preds_t.argmax(dim=class_dim), channels


def _as_confusion(cm: ArrayLike) -> torch.Tensor:
    cm_t = as_tensor(cm, "cm")
    if cm_t.dim() != 2 or cm_t.shape[0] != cm_t.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {tuple(cm_t.shape)}")
    return cm_t


def _tp_fp_fn(cm: torch.Tensor):
    tp = torch.diagonal(cm)
    return tp, cm.sum(dim=0) - tp, cm.sum(dim=1) - tp


def _numpy_matrix(cm: ArrayLike) -> np.ndarray:
    """A confusion matrix as an ``int64`` numpy array (checked square). Small: numpy's per-operation cost
    is a fraction of torch's, which matters when the scores are recomputed after every brush segment."""
    return _as_confusion(cm).detach().to("cpu").numpy().astype(np.int64)
