"""Score a loaded case: the typed score document (:class:`app.score_document.CaseScore`) of
``dicelens score --json``, used by report and batch too.

Every number comes from :mod:`dice_engine` (one confusion matrix, then scores from it); this module
only chooses the inputs, names the fields, and turns NaN into ``None`` (JSON ``null``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

import dice_engine as de
from app import __version__
from app.distance_options import DEFAULT_NSD_TOLERANCES, check_nsd_tolerances
from app.errors import InputError
from app.io import Case, count_classes
from app.object_options import ObjectOptions
from app.object_scoring import foreground_case, score_objects, semantic_case
from app.score_document import (
    CLASS_FIELDS,
    CaseScore,
    ClassScore,
    DiceLossScore,
    DistanceMeans,
    SoftScores,
    SurfaceDistances,
)
from dice_engine.device import run_with_cpu_fallback

SMOOTH = 1.0
"""``s`` of the Dice loss ``1 − (2TP + s) / (2TP + FP + FN + s)`` (soft: sums of p·y, p and y)."""


_COUNT_FIELDS = ("tp", "fp", "fn", "gt_voxels", "pred_voxels")

CONVENTIONS = {
    "dice": "2TP / (2TP + FP + FN) per class, from voxel counts",
    "absent_from_both": "a class absent from both ground truth and prediction has undefined Dice, IoU, "
                        "precision and recall (null); it is left out of every average and listed in "
                        "undefined_classes",
    "absent_from_ground_truth": "a class absent from the ground truth but predicted has Dice 0",
    "dice_mean_foreground": "mean of the defined per-class Dice of classes 1..C-1 (background left out)",
    "dice_micro_foreground": "2ΣTP / (2ΣTP + ΣFP + ΣFN) over classes 1..C-1",
    "dice_loss": "hard: mean over the foreground classes 1..C-1 of 1 - (2TP + s) / (2TP + FP + FN + s); "
                 "soft: the same with Σp·y, Σp, Σy of the class probabilities (softmax of logits)",
    "confusion_matrix": "rows = ground truth class, columns = predicted class, voxel counts",
    "volumes": "ml = voxel count x voxel spacing product (mm³) / 1000",
    "ignore_index": "ground-truth voxels with this value are left out of every count",
}

DISTANCE_CONVENTIONS = {
    **de.SURFACE_DISTANCE_CONVENTIONS,
    "classes": "computed for the foreground classes 1..C-1 (null for the background and for ignore_index)",
    "distances_mean_foreground": "mean of each figure over the foreground classes where it is defined; "
                                 "n_undefined counts the classes left out (absent from either mask)",
}

HEADLINE_UNDEFINED = ("no foreground class in either mask: headline undefined (mean and micro foreground "
                      "Dice and the hard Dice loss are null)")
"""The score document's ``headline_undefined`` note (and message) when both masks are all background."""

CONVENTIONS_LINE = ("Dice = 2TP/(2TP+FP+FN). A class absent from both masks is undefined (—) and left out "
                    "of means; a class predicted but absent from the ground truth scores 0.")


def score_case(case: Case, *, ignore_index: int | None = None, device: str | None = None,
               distances: bool = False, nsd_tolerances=DEFAULT_NSD_TOLERANCES,
               objects: ObjectOptions | None = None, semantic=None) -> CaseScore:
    """Score a case: per-class metrics, averages, Dice loss, confusion matrix and provenance.

    Parameters
    ----------
    case : Case
        From :func:`app.io.load_case`.
    ignore_index : int, optional
        Ground-truth value meaning "not annotated": those voxels are left out of every count.
    device : str, optional
        ``"cpu"``, ``"cuda"``, ``"mps"``...; default: the engine's choice (CUDA > MPS > CPU).
    distances : bool
        Also compute the surface distances (:func:`dice_engine.surface_distances`, on the CPU).
    nsd_tolerances : sequence of float
        NSD tolerances in mm (with ``distances``).
    objects : ObjectOptions, optional
        Also count lesions or instances (:func:`app.object_scoring.score_objects`): the document's
        ``objects`` block. In instance mode the voxel scores are those of foreground against background
        (:func:`app.object_scoring.foreground_case`).
    semantic : app.object_scoring.SemanticMasks, optional
        Instance mode: the class of each instance (:func:`app.object_scoring.load_semantic_masks`); the
        voxel scores are then those of the semantic masks (:func:`app.object_scoring.semantic_case`).

    Returns
    -------
    CaseScore
        The typed score document (:mod:`app.score_document`; ``to_json()`` is the JSON of
        ``dicelens score --json``): per-class :class:`~app.score_document.ClassScore` entries for
        indices 0..C-1, the ``C x C`` confusion matrix (rows = ground truth), the foreground macro
        and micro Dice, the Dice loss, undefined classes, conventions, geometry, inputs (path,
        sha256, format), device and messages; ``None`` for undefined values, never NaN.
        ``headline_undefined`` says why the headline is None when neither mask holds a foreground
        voxel. With ``distances``, every class has ``distances`` (figures None for the background and
        ``ignore_index``) and the document ``nsd_tolerances_mm``, ``distances_mean_foreground``
        and ``conventions["surface_distances"]``; without it these are None (absent in the JSON).

    Raises
    ------
    InputError
        An unavailable device, a negative ``ignore_index`` or an NSD tolerance that is not > 0.
    """
    if objects is not None and objects.instances:
        voxel_case = foreground_case(case, ignore_index) if semantic is None else semantic_case(case, semantic,
                                                                                                ignore_index)
        voxels = score_case(voxel_case, device=device, distances=distances, nsd_tolerances=nsd_tolerances)
        return replace(voxels, objects=score_objects(case, objects, semantic=semantic))
    if ignore_index is not None and ignore_index < 0:
        raise InputError(f"--ignore-index must be a label value >= 0, got {ignore_index}.")
    if distances:
        nsd_tolerances = check_nsd_tolerances(nsd_tolerances, "nsd_tolerances")
    try:
        chosen = de.select_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None
    num_classes = case.num_classes
    if ignore_index is not None:
        num_classes = count_classes(case.gt, case.pred, case.labels, ignore_index)
        if case.scores is not None:
            num_classes = max(num_classes, case.scores.shape[0] if case.scores.shape[0] > 1 else 2)

    cm, used = run_with_cpu_fallback(lambda target_device: _confusion(case, num_classes, ignore_index, target_device),
                                     chosen)
    metrics = de.class_metrics(cm, case.geometry.voxel_volume_ml)
    messages = list(case.messages)
    soft_loss, soft = None, None
    if case.scores is not None:
        soft, _ = run_with_cpu_fallback(lambda target_device: soft_scores(case, ignore_index, target_device), used)
        soft_loss = soft.soft_dice_loss_mean_foreground
    mean_foreground, _ = de.average_dice(cm, "macro", include_background=False)
    micro_foreground, _ = de.average_dice(cm, "micro", include_background=False)
    # Both masks all background (a healthy scan): every foreground Dice is undefined, and so is
    # the headline; the smoothed hard loss would read 0 (perfect) over absent classes, so it is too.
    headline_undefined = not (metrics.gt_voxels[1:].any() or metrics.pred_voxels[1:].any())
    hard_loss = None if headline_undefined else _number(
        de.hard_dice_loss(cm, smooth=SMOOTH, include_background=False))
    if headline_undefined:
        messages.append(HEADLINE_UNDEFINED)
    class_distances, distance_fields = [None] * num_classes, {}
    conventions = dict(CONVENTIONS)
    if distances:
        class_distances, distance_fields = _distances(case, num_classes, ignore_index, nsd_tolerances)
        conventions["surface_distances"] = dict(DISTANCE_CONVENTIONS)
    return CaseScore(
        dicelens_version=__version__,
        num_classes=num_classes,
        classes=_class_entries(case, metrics, class_distances),
        confusion_matrix=tuple(tuple(row) for row in cm.tolist()),
        dice_mean_foreground=_number(mean_foreground),
        dice_micro_foreground=_number(micro_foreground),
        dice_loss=DiceLossScore(hard=hard_loss, soft=soft_loss, soft_from=case.scores_kind, smooth=SMOOTH,
                                include_background=False),
        undefined_classes=tuple(int(i) for i in np.flatnonzero(np.isnan(metrics.dice))),
        conventions=conventions,
        geometry=case.geometry.as_dict(),
        inputs={key: source.as_dict() for key, source in case.sources.items()},
        device=f"{used} ({de.device_name(used)})",
        messages=tuple(messages),
        headline_undefined=HEADLINE_UNDEFINED if headline_undefined else None,
        ignore_index=ignore_index,
        ignored_voxels=None if ignore_index is None else int(case.gt.size - int(cm.sum())),
        soft=soft,
        **distance_fields,
        objects=None if objects is None else score_objects(case, objects, ignore_index),
    )


def _distances(case: Case, num_classes: int, ignore_index: int | None, nsd_tolerances: tuple[float, ...]):
    """The engine's surface distances: per class (None where not computed) and the document's fields."""
    result = de.surface_distances(target=case.gt, preds=case.pred, spacing=case.geometry.spacing_zyx,
                                  num_classes=num_classes, nsd_tolerances=nsd_tolerances, ignore_index=ignore_index)
    per_class = [SurfaceDistances.from_json(result.class_record(index)) for index in range(num_classes)]
    return per_class, {"nsd_tolerances_mm": tuple(result.tolerances),
                       "distances_mean_foreground": DistanceMeans.from_json(result.foreground_means())}


def _confusion(case: Case, num_classes: int, ignore_index: int | None, device: torch.device) -> torch.Tensor:
    """The engine's ``(C, C) int64`` confusion matrix of the case's masks, on the CPU."""
    gt = torch.from_numpy(case.gt).to(device)
    pred = torch.from_numpy(case.pred).to(device)
    return de.confusion_matrix(target=gt, preds=pred, num_classes=num_classes, ignore_index=ignore_index).cpu()


def _class_entries(case: Case, metrics: de.ClassMetrics, distances: list) -> tuple[ClassScore, ...]:
    entries = []
    for index in range(metrics.num_classes):
        values = {}
        for name in CLASS_FIELDS[2:]:
            value = getattr(metrics, name)[index]
            values[name] = int(value) if name in _COUNT_FIELDS else _number(value)
        entries.append(ClassScore(index=index, name=case.labels.name(index), **values, distances=distances[index]))
    return tuple(entries)


def soft_scores(case: Case, ignore_index: int | None, device: torch.device | str | None = None) -> SoftScores:
    """Soft Dice of the case's class scores, per class and foreground means (``ignore_index`` left out).

    Computed by the engine's :class:`dice_engine.LiveSoftDice` (slab by slab, exact fixed-point sums),
    the same object the window keeps live, so ``score`` and the window agree to the last digit.

    Raises
    ------
    InputError
        A ground-truth label without a score channel.
    """
    probabilities = de.ClassProbabilities(case.scores, from_logits=case.scores_kind == "logits", device=device)
    try:
        live = de.LiveSoftDice(target=case.gt, preds=probabilities, smooth=SMOOTH, include_background=False,
                               ignore_index=ignore_index)
    except ValueError as error:
        raise InputError(f"the class scores do not fit the ground truth: {error}.") from None
    result = live.result()
    foreground = result.classes >= 1
    dice_mean = float(np.mean(result.soft_dice[foreground])) if foreground.any() else float("nan")
    classes = tuple((int(index), _number(dice), _number(loss))
                    for index, dice, loss in zip(result.classes, result.soft_dice, result.soft_loss, strict=True))
    return SoftScores(formula=de.soft.SOFT_DICE_FORMULA, smooth=SMOOTH, source=case.scores_kind,
                      prediction=case.prediction_from,
                      threshold=0.5 if case.prediction_from == "threshold" else None,
                      soft_dice_mean_foreground=_number(dice_mean),
                      soft_dice_loss_mean_foreground=_number(result.loss_mean), classes=classes)


def _number(value) -> float | None:
    """A float, or None for NaN / missing."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
