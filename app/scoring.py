"""Score a loaded case: the JSON document of ``dicelens score --json``, used by report and batch too.

Every number comes from :mod:`dice_engine` (one confusion matrix, then scores from it); this module
only chooses the inputs, names the fields, and turns NaN into ``None`` (JSON ``null``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

import dice_engine as de
from app import __version__
from app.errors import InputError
from app.io import Case, count_classes
from dice_engine.device import run_with_cpu_fallback

SMOOTH = 1.0
"""``s`` of the Dice loss ``1 − (2TP + s) / (2TP + FP + FN + s)`` (soft: sums of p·y, p and y)."""

CLASS_FIELDS = ("index", "name", "dice", "iou", "precision", "recall", "specificity", "tp", "fp", "fn",
                "gt_voxels", "pred_voxels", "gt_volume_ml", "pred_volume_ml", "volume_difference_ml")
"""Per-class fields, in the order of the JSON ``classes`` entries and of the CSV columns."""

SOFT_LOSS_MAX_SCORES = 1 << 26
"""Largest number of class-score values (C x voxels) the soft Dice loss is computed for. The engine's
``dice_loss`` holds several float64 copies of the scores and a one-hot target at once (about 40 bytes
per value, ~2.7 GB at this limit); larger cases get ``soft: null`` and a message rather than running
out of memory."""

BACKGROUND_RUN = 2048
"""Voxels per run dropped wholesale when all background (see :func:`confusion_skipping_background`)."""

_COUNT_FIELDS = ("tp", "fp", "fn", "gt_voxels", "pred_voxels")

CONVENTIONS = {
    "dice": "2TP / (2TP + FP + FN) per class, from voxel counts",
    "absent_from_both": "a class absent from both ground truth and prediction has undefined Dice, IoU, "
                        "precision and recall (null); it is left out of every average and listed in "
                        "undefined_classes",
    "absent_from_ground_truth": "a class absent from the ground truth but predicted has Dice 0",
    "dice_mean_foreground": "mean of the defined per-class Dice of classes 1..C-1 (background left out)",
    "dice_micro_foreground": "2ΣTP / (2ΣTP + ΣFP + ΣFN) over classes 1..C-1",
    "dice_loss": "hard: mean over all classes of 1 - (2TP + s) / (2TP + FP + FN + s); soft: the same with "
                 "Σp·y, Σp, Σy of the class probabilities (softmax of logits)",
    "confusion_matrix": "rows = ground truth class, columns = predicted class, voxel counts",
    "volumes": "ml = voxel count x voxel spacing product (mm³) / 1000",
    "ignore_index": "ground-truth voxels with this value are left out of every count",
}

CONVENTIONS_LINE = ("Dice = 2TP/(2TP+FP+FN). A class absent from both masks is undefined (—) and left out "
                    "of means; a class predicted but absent from the ground truth scores 0.")


def score_case(case: Case, *, ignore_index: int | None = None, device: str | None = None) -> dict:
    """Score a case: per-class metrics, averages, Dice loss, confusion matrix and provenance.

    Parameters
    ----------
    case : Case
        From :func:`app.io.load_case`.
    ignore_index : int, optional
        Ground-truth value meaning "not annotated": those voxels are left out of every count.
    device : str, optional
        ``"cpu"``, ``"cuda"``, ``"mps"``...; default: the engine's choice (CUDA > MPS > CPU).

    Returns
    -------
    dict
        JSON-ready (``None`` for undefined values, never NaN): ``dicelens_version``, ``num_classes``,
        ``classes`` (one entry per index 0..C-1 with :data:`CLASS_FIELDS`), ``confusion_matrix``
        (``C x C`` lists, rows = ground truth), ``dice_mean_foreground``, ``dice_micro_foreground``,
        ``dice_loss`` (``hard``, ``soft`` or None, ``smooth``, ``include_background``),
        ``undefined_classes``, ``ignore_index`` and ``ignored_voxels`` (only when given),
        ``conventions``, ``geometry``, ``inputs`` (path, sha256, format per input), ``device``,
        ``messages``.

    Raises
    ------
    InputError
        An unavailable device or a negative ``ignore_index``.
    """
    if ignore_index is not None and ignore_index < 0:
        raise InputError(f"--ignore-index must be a label value >= 0, got {ignore_index}.")
    try:
        chosen = de.select_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None
    num_classes = case.num_classes
    if ignore_index is not None:
        num_classes = count_classes(case.gt, case.pred, case.labels, ignore_index)
        if case.scores is not None:
            num_classes = max(num_classes, case.scores.shape[0] if case.scores.shape[0] > 1 else 2)

    cm, used = run_with_cpu_fallback(
        lambda target_device: confusion_skipping_background(case.gt, case.pred, num_classes, ignore_index,
                                                            target_device), chosen)
    metrics = de.class_metrics(cm, case.geometry.voxel_volume_ml)
    messages = list(case.messages)
    soft_loss = None
    if case.scores is not None:
        if case.scores.size <= SOFT_LOSS_MAX_SCORES:
            loss, _ = run_with_cpu_fallback(lambda target_device: _soft_dice_loss(case, ignore_index, target_device),
                                            used)
            soft_loss = _number(loss)
        else:
            messages.append(f"soft Dice loss not computed: {case.scores.shape[0]} classes x {case.gt.size} voxels "
                            f"is more class scores than DiceLens handles at once ({SOFT_LOSS_MAX_SCORES})")
    mean_foreground, _ = de.average_dice(cm, "macro", include_background=False)
    micro_foreground, _ = de.average_dice(cm, "micro", include_background=False)
    document = {
        "dicelens_version": __version__,
        "num_classes": num_classes,
        "classes": _class_entries(case, metrics),
        "confusion_matrix": cm.tolist(),
        "dice_mean_foreground": _number(mean_foreground),
        "dice_micro_foreground": _number(micro_foreground),
        "dice_loss": {
            "hard": _number(de.hard_dice_loss(cm, smooth=SMOOTH, include_background=True)),
            "soft": soft_loss,
            "soft_from": case.scores_kind,
            "smooth": SMOOTH,
            "include_background": True,
        },
        "undefined_classes": [int(i) for i in np.flatnonzero(np.isnan(metrics.dice))],
    }
    if ignore_index is not None:
        document["ignore_index"] = ignore_index
        document["ignored_voxels"] = int(case.gt.size - int(cm.sum()))
    document.update({
        "conventions": dict(CONVENTIONS),
        "geometry": case.geometry.as_dict(),
        "inputs": {key: source.as_dict() for key, source in case.sources.items()},
        "device": f"{used} ({de.device_name(used)})",
        "messages": messages,
    })
    return document


def confusion_skipping_background(gt: np.ndarray, pred: np.ndarray, num_classes: int,
                                  ignore_index: int | None, device: torch.device) -> torch.Tensor:
    """The engine's confusion matrix, fed only the voxels where either mask is not background.

    Most of a CT is background in both masks, and those voxels can only be (0, 0) pairs. They are
    found in two cheap steps: the flat label maps are cut into runs of :data:`BACKGROUND_RUN`
    voxels and runs that are all 0 in both masks are dropped wholesale (one max per run); the
    remaining runs are compacted voxel by voxel. Only the compacted voxels go to
    :func:`dice_engine.confusion_matrix`; the dropped ones are counted in ``cm[0, 0]`` (or nowhere
    when 0 is the ``ignore_index``). The result is exactly the engine's matrix of the whole volumes
    (tested), at a fraction of the cost.

    Parameters
    ----------
    gt, pred : np.ndarray
        Label maps of equal shape with labels >= 0 (as :class:`app.io.Case` holds them).
    num_classes : int
        ``C``.
    ignore_index : int or None
        Ground-truth value left out of every count.
    device : torch.device
        Where the engine counts.

    Returns
    -------
    torch.Tensor
        ``(C, C) int64`` on the CPU, rows = ground truth.
    """
    gt_kept, pred_kept = _non_background_voxels(gt.reshape(-1), pred.reshape(-1))
    cm = torch.zeros((num_classes, num_classes), dtype=torch.int64)
    if gt_kept.size:
        cm += de.confusion_matrix(torch.from_numpy(gt_kept).to(device), torch.from_numpy(pred_kept).to(device),
                                  num_classes, ignore_index).cpu()
    if ignore_index != 0:
        cm[0, 0] += gt.size - gt_kept.size
    return cm


def _non_background_voxels(flat_gt: np.ndarray, flat_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(K,)`` labels of both maps at the K voxels where either is non-zero, in order."""
    whole = flat_gt.size // BACKGROUND_RUN * BACKGROUND_RUN
    gt_runs = flat_gt[:whole].reshape(-1, BACKGROUND_RUN)
    pred_runs = flat_pred[:whole].reshape(-1, BACKGROUND_RUN)
    busy = (gt_runs.max(axis=1, initial=0) > 0) | (pred_runs.max(axis=1, initial=0) > 0)
    pieces = ((gt_runs[busy].reshape(-1), pred_runs[busy].reshape(-1)), (flat_gt[whole:], flat_pred[whole:]))
    kept_gt, kept_pred = [], []
    for gt_piece, pred_piece in pieces:
        labelled = (gt_piece | pred_piece) != 0
        kept_gt.append(gt_piece[labelled])
        kept_pred.append(pred_piece[labelled])
    return np.concatenate(kept_gt), np.concatenate(kept_pred)


def _class_entries(case: Case, metrics: de.ClassMetrics) -> list[dict]:
    entries = []
    for index in range(metrics.num_classes):
        entry = {"index": index, "name": case.labels.name(index)}
        for name in CLASS_FIELDS[2:]:
            value = getattr(metrics, name)[index]
            entry[name] = int(value) if name in _COUNT_FIELDS else _number(value)
        entries.append(entry)
    return entries


def _soft_dice_loss(case: Case, ignore_index: int | None, device: torch.device) -> float:
    """Soft Dice loss of the case's class scores (ground-truth ``ignore_index`` voxels left out)."""
    scores = torch.from_numpy(case.scores)
    target = torch.from_numpy(case.gt)
    if ignore_index is not None:
        keep = target != ignore_index
        scores, target = scores[:, keep], target[keep]
    loss = de.dice_loss(scores.unsqueeze(0).to(device), target.unsqueeze(0).to(device), smooth=SMOOTH,
                        include_background=True, class_dim=1, from_logits=case.scores_kind == "logits")
    return float(loss)


def _number(value) -> float | None:
    """A float, or None for NaN / missing."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
