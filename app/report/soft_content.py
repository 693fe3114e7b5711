"""The model-output part of a case report, as data (Qt-free): soft Dice loss, threshold, curves.

With ``dicelens report --probs/--logits`` the report states the soft Dice loss of the model's own
probabilities (the formula and smoothing of docs/architecture.md §5, the value ``score`` writes), how
the hard prediction was obtained (the given mask, the argmax, or ``p >= threshold`` for one channel),
and for every foreground class the Dice-vs-threshold curve (one-vs-rest, exact at the 1/1024 bin
edges, :class:`dice_engine.ClassHistograms`) with its best threshold. The PDF writer draws it
(:mod:`app.report.pdf_soft`); the report's JSON carries the same figures without the curve points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.score_document import CaseScore

PREDICTION_TEXT = {
    "mask": "the predicted mask given (the curves rescore the model's probabilities)",
    "argmax": "the model's argmax over the classes (no predicted mask given)",
    "threshold": "the model's foreground probability \u2265 {threshold:g} (no predicted mask given)",
    "slider": ("the prediction re-derived in the window from the model's probabilities at a threshold of one "
               "class (one-vs-rest; the edit list names the threshold and the class, and any hand edits after it)"),
}


@dataclass(frozen=True)
class SoftCurve:
    """Dice of one class against the probability threshold (one-vs-rest).

    Attributes
    ----------
    index : int
    name : str
    color : tuple of 3 int
    thresholds, dice : np.ndarray
        ``(1025,)`` float64: ``k / 1024`` and the Dice there (NaN where undefined).
    best_threshold, best_dice : float or None
        The threshold with the highest Dice (the lowest on ties) and that Dice.
    dice_at_half : float or None
        Dice at ``p >= 0.5``.
    soft_dice, soft_dice_loss : float or None
        The class's soft Dice and soft Dice loss.
    """

    index: int
    name: str
    color: tuple[int, int, int]
    thresholds: np.ndarray
    dice: np.ndarray
    best_threshold: float | None
    best_dice: float | None
    dice_at_half: float | None
    soft_dice: float | None
    soft_dice_loss: float | None

    def to_json(self) -> dict:
        """The curve's figures, without its points."""
        return {"index": self.index, "name": self.name, "soft_dice": self.soft_dice,
                "soft_dice_loss": self.soft_dice_loss, "best_threshold": self.best_threshold,
                "best_dice": self.best_dice, "dice_at_0.5": self.dice_at_half}


@dataclass(frozen=True)
class SoftSection:
    """What the report says about the model's output.

    Attributes
    ----------
    loss_mean_foreground, dice_mean_foreground : float or None
        Soft Dice loss and soft Dice, means over the foreground classes.
    formula : str
    smooth : float
    source : {"probs", "logits"}
    prediction : str
        How the hard prediction was obtained, in words.
    threshold : float or None
        The one-channel threshold used for the prediction, when it was derived that way.
    curves : tuple of SoftCurve
        One per foreground class with a score channel.
    """

    loss_mean_foreground: float | None
    dice_mean_foreground: float | None
    formula: str
    smooth: float
    source: str
    prediction: str
    threshold: float | None
    curves: tuple[SoftCurve, ...]

    def to_json(self) -> dict:
        """The report JSON's ``soft`` record."""
        return {"soft_dice_loss_mean_foreground": self.loss_mean_foreground,
                "soft_dice_mean_foreground": self.dice_mean_foreground, "formula": self.formula,
                "smooth": self.smooth, "source": self.source, "prediction": self.prediction,
                "threshold": self.threshold, "classes": [curve.to_json() for curve in self.curves]}


def soft_section(case, score: CaseScore, *, ignore_index: int | None = None, device=None) -> SoftSection | None:
    """The report's model-output section of a case scored with class scores (None without them).

    Parameters
    ----------
    case : app.io.Case
        With ``scores`` and ``scores_kind``.
    score : CaseScore
        Its score document (``score.soft`` from :func:`app.scoring.score_case`).
    ignore_index : int, optional
        Ground-truth label left out of the curves, as of the scores.
    device : str or torch.device, optional
        Where the histograms are computed (default CPU).
    """
    if case.scores is None or score.soft is None:
        return None
    import dice_engine as de  # torch: imported only when there is model output to describe

    probabilities = de.ClassProbabilities(case.scores, from_logits=case.scores_kind == "logits",
                                          device=device or "cpu")
    histograms = de.ClassHistograms(target=case.gt, preds=probabilities, ignore_index=ignore_index)
    soft_by_class = {index: (dice, loss) for index, dice, loss in score.soft.classes}
    curves = []
    for label in histograms.labels():
        if label == 0:
            continue
        curve = histograms.curve(label)
        dice, loss = soft_by_class.get(label, (None, None))
        curves.append(SoftCurve(
            index=label, name=case.labels.name(label), color=tuple(case.labels.color(label)),
            thresholds=curve.thresholds, dice=curve.dice, best_threshold=curve.best_threshold,
            best_dice=None if curve.best_index is None else float(curve.dice[curve.best_index]),
            dice_at_half=_number(curve.dice[len(curve.dice) // 2]), soft_dice=dice, soft_dice_loss=loss))
    soft = score.soft
    return SoftSection(loss_mean_foreground=soft.soft_dice_loss_mean_foreground,
                       dice_mean_foreground=soft.soft_dice_mean_foreground, formula=soft.formula, smooth=soft.smooth,
                       source=soft.source, prediction=PREDICTION_TEXT[soft.prediction].format(
                           threshold=soft.threshold if soft.threshold is not None else 0.5),
                       threshold=soft.threshold, curves=tuple(curves))


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
