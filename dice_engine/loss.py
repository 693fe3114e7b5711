"""Dice loss: hard (label maps, from a confusion matrix) and soft (class scores).

Hard, on label maps (seed article 001): per class ``1 − (2TP + s) / (2TP + FP + FN + s)``.
Soft, on class scores: per class ``1 − (2 Σ p·y + s) / (Σ p + Σ y + s)`` where ``p`` are the
class probabilities and ``y`` the one-hot target, summed over every voxel of the batch. Both
are averaged over the included classes, with smooth ``s = 1`` by default; with ``s = 0`` a class
absent from both has no defined loss and is left out of the mean. The soft loss equals MONAI's
``DiceLoss(smooth_nr=s, smooth_dr=s, batch=True)`` with ``softmax=True`` (several channels) or
``sigmoid=True`` (one channel: the foreground of a binary problem, and only it, unless
``num_classes=2`` asks for a background channel ``1 − p`` as well). ``dice_loss`` takes ``target=``
and ``preds=`` by keyword only (see :mod:`dice_engine`).
"""

from __future__ import annotations

import torch

from dice_engine._inputs import ArrayLike, as_labels, as_tensor, check_label_range
from dice_engine.confusion import confusion_matrix
from dice_engine.matrix_scores import hard_dice_loss_of_matrix


def hard_dice_loss(cm: ArrayLike, smooth: float = 1.0, include_background: bool = True) -> float:
    """Dice loss of hard label maps from their confusion matrix.

    Parameters
    ----------
    cm : array-like
        ``(C, C)`` counts, rows = ground truth.
    smooth : float
        ``s`` in ``1 − (2TP + s) / (2TP + FP + FN + s)``.
    include_background : bool
        Include class 0 in the mean.

    Returns
    -------
    float
        Mean over included classes; NaN when none is defined (with ``smooth = 0``) or none is left
        (a single class with ``include_background=False``): the mean of nothing is undefined.

    Examples
    --------
    >>> round(hard_dice_loss([[2, 1], [1, 2]], include_background=False), 4)  # seed 001: 1 - 5/7
    0.2857
    """
    # small: numpy is cheaper (dice_engine.matrix_scores)
    return hard_dice_loss_of_matrix(as_tensor(cm, "cm").detach().to("cpu").numpy(), smooth, include_background)


def dice_loss(
    *,
    target: ArrayLike,
    preds: ArrayLike,
    num_classes: int | None = None,
    smooth: float = 1.0,
    include_background: bool = True,
    class_dim: int = 1,
    from_logits: bool = True,
) -> torch.Tensor:
    """Dice loss of class scores (soft) or of a hard label map.

    Parameters
    ----------
    target : array-like of int
        Ground-truth labels, e.g. ``(N, ...)`` (keyword-only).
    preds : array-like
        Either float class scores with one more dimension than ``target``, classes along
        ``class_dim`` (``(N, C, ...)`` by default) — soft loss — or a label map of ``target``'s
        shape — hard loss, as :func:`hard_dice_loss` (keyword-only).
    num_classes : int, optional
        ``C``; for several score channels it must equal the channel count. A single channel is the
        foreground of a binary problem: by default (``None`` or 1) the loss is that of the foreground
        alone, exactly MONAI's ``DiceLoss(sigmoid=True)`` (``include_background`` has no effect, as in
        MONAI); ``num_classes=2`` adds a background channel ``1 − p`` and averages the included classes.
    smooth : float
        ``s``, added to numerator and denominator.
    include_background : bool
        Include class 0 in the mean (several channels, or one channel with ``num_classes=2``).
    class_dim : int
        Class axis of float ``preds``.
    from_logits : bool
        Scores are logits (default): softmax over classes, or sigmoid for a single channel. False:
        scores are already probabilities (a single channel = foreground probability).

    Returns
    -------
    torch.Tensor
        float64 scalar on the scores' device; differentiable with respect to float ``preds``.
    """
    scores_t = as_tensor(preds, "preds")
    target_t = as_labels(target, "target")
    if scores_t.dim() == target_t.dim():
        cm = confusion_matrix(target=target_t, preds=scores_t, num_classes=num_classes)
        return torch.tensor(hard_dice_loss(cm, smooth, include_background), dtype=torch.float64)
    if scores_t.dim() != target_t.dim() + 1:
        raise ValueError(
            f"preds must have target's shape {tuple(target_t.shape)} (labels) or one more dimension "
            f"(class scores), got {tuple(scores_t.shape)}"
        )
    if not scores_t.is_floating_point():
        raise ValueError(f"preds: class scores must be floating point, got {scores_t.dtype}")
    if not bool(torch.isfinite(scores_t).all()):
        raise ValueError("preds: class scores contain NaN or infinite values; check the model output")
    scores_t = scores_t.movedim(class_dim, 1).to(torch.float64)
    channels = scores_t.shape[1]
    foreground_only = channels == 1 and num_classes in (None, 1)
    if channels == 1 and not foreground_only and num_classes != 2:
        raise ValueError(f"preds have one class channel (binary foreground) along dim {class_dim}, "
                         f"but num_classes={num_classes}; use None (foreground only) or 2")
    if channels > 1 and num_classes is not None and num_classes != channels:
        raise ValueError(f"preds have {channels} classes along dim {class_dim}, but num_classes={num_classes}")
    expected = (scores_t.shape[0], *scores_t.shape[2:])
    if tuple(target_t.shape) != expected:
        raise ValueError(f"target shape {tuple(target_t.shape)} does not match preds without classes {expected}")
    classes = max(channels, 2)
    check_label_range(target_t, classes, "target")
    probs = _probabilities(scores_t, from_logits, foreground_only)
    target_t = target_t.to(probs.device)
    one_hot = torch.nn.functional.one_hot(target_t.long(), classes).movedim(-1, 1).to(probs.dtype)
    if foreground_only:
        one_hot, include_background = one_hot[:, 1:], True  # the one channel is class 1, not background
    reduce = [d for d in range(probs.dim()) if d != 1]
    intersection = (probs * one_hot).sum(dim=reduce)
    sums = probs.sum(dim=reduce) + one_hot.sum(dim=reduce)
    return _mean_loss_tensor(2 * intersection, sums, smooth, include_background)


def _probabilities(scores: torch.Tensor, from_logits: bool, foreground_only: bool) -> torch.Tensor:
    """``(N, C, ...)`` scores -> probabilities: softmax of several channels, sigmoid of one.

    A single channel stays the foreground alone with ``foreground_only``, else gains a background
    channel ``1 − p`` in front (``(N, 2, ...)``).
    """
    if scores.shape[1] == 1:
        foreground = torch.sigmoid(scores) if from_logits else scores
        return foreground if foreground_only else torch.cat((1 - foreground, foreground), dim=1)
    return torch.softmax(scores, dim=1) if from_logits else scores


def _mean_loss_tensor(numerator, denominator, smooth: float, include_background: bool) -> torch.Tensor:
    if not include_background:
        numerator, denominator = numerator[1:], denominator[1:]
    ratio = (numerator + smooth) / (denominator + smooth)
    losses = 1 - ratio
    defined = (denominator + smooth) > 0
    if not bool(defined.any()):
        return torch.tensor(float("nan"), dtype=torch.float64, device=numerator.device)
    return losses[defined].mean()
