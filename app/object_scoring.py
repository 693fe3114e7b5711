"""Object scores of a loaded case: the typed ``objects`` block (:class:`app.object_document.CaseObjects`).

Every figure comes from :mod:`dice_engine.objects`; this module chooses the inputs (classes, the
connectivity in the image's dimension, the size limit in voxels, the voxel-to-LPS affine), names the
fields and turns NaN into ``None``. Definitions: docs/architecture.md §5, "Objects".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import dice_engine as de
from app.errors import InputError
from app.io import Case, InputFile, LabelTable, load_case
from app.io.geometry import require_same_grid
from app.object_document import CaseObjects, ClassObjectScore, ObjectItem
from app.object_options import INSTANCE_EXTRA_THRESHOLDS, ObjectOptions

CONVENTIONS = {
    "lesion_mode": "objects are the connected components of each foreground class in each mask",
    "instance_mode": "every non-zero label id of an instance image is one object of one foreground class",
    "matching": "a ground-truth and a predicted object of the same class match when IoU >= iou_threshold and "
                "they overlap (iou_threshold 0 = any overlap); one-to-one, with the most matches and then the "
                "largest IoU sum (unique above 0.5; optimal assignment otherwise)",
    "counts": "tp = matched pairs, fn = missed (unmatched ground-truth) objects, fp = false (unmatched "
              "predicted) objects; precision = tp/(tp+fp), recall = tp/(tp+fn), f1 = rq = 2tp/(2tp+fp+fn), "
              "sq = mean IoU of the matches, pq = sq x rq; null when the denominator is 0",
    "items": "missed and false objects, largest first: volume, centroid (voxel z, y, x and LPS mm), key slice "
             "(the slice with most of its voxels, per axis), IoU and Dice with the most-overlapping object of "
             "the other mask, distance to the nearest object of the other mask (between voxel centres)",
    "matched": "ground-truth objects matched to a predicted object, by their first voxel in C order: volume, "
               "centroid, key slice, IoU and Dice with the predicted object each matched (distance 0)",
    "min_size": "objects with fewer than min_size_voxels voxels are left out of matching and counts "
                "(gt_left_out, pred_left_out)",
    "ignore_index": "ground-truth voxels with this value are background in both masks for the objects",
}
INSTANCE_CLASSES = ("each instance is one object of the class given by its semantic mask (--semantic-gt / "
                    "--semantic-pred): the most frequent non-zero semantic label among its voxels, a tie going to "
                    "the smallest label; semantic background inside an instance does not vote")
"""The ``instance_classes`` convention of an instance-mode block scored with semantic masks."""


@dataclass(frozen=True)
class SemanticMasks:
    """The semantic (class) masks of an instance-mode case: the class of each instance.

    Attributes
    ----------
    gt, pred : numpy.ndarray
        ``(z, y, x)`` class labels on the instance images' grid.
    labels : LabelTable
        Class names.
    num_classes : int
        ``C``: classes 1..C-1 are scored.
    sources : dict of str to InputFile
        ``"semantic_gt"``, ``"semantic_pred"``.
    """

    gt: np.ndarray
    pred: np.ndarray
    labels: LabelTable
    num_classes: int
    sources: dict[str, InputFile]


def load_semantic_masks(case: Case, gt: str | Path, pred: str | Path, labels: str | Path | None = None,
                        max_voxels: int | None = None) -> SemanticMasks:
    """Read the semantic masks of an instance-mode case and check they lie on its grid.

    Parameters
    ----------
    case : Case
        The instance images (``case.gt``, ``case.pred``).
    gt, pred : str or Path
        ``--semantic-gt`` and ``--semantic-pred``: class masks of the same images.
    labels : str or Path, optional
        Label table naming the classes.
    max_voxels : int, optional
        As :func:`app.io.load_case`.

    Raises
    ------
    InputError
        An unreadable mask, or one that does not lie on the instance images' grid.
    """
    semantic = load_case(gt, pred, labels=labels, max_voxels=max_voxels)
    names = {"gt": f"--semantic-gt '{gt}'", "pred": f"--semantic-pred '{pred}'"}
    instances = f"the instance images ('{case.sources['gt'].path}')" if "gt" in case.sources else "the instance images"
    advice = "give the semantic masks of the same images as --gt and --pred"
    if semantic.gt.shape != case.gt.shape:
        raise InputError(f"{names['gt']} has shape {semantic.gt.shape} (z, y, x) but {instances} have "
                         f"{case.gt.shape}; {advice}.")
    gridded = [source.format != "NumPy" for sources in (case.sources, semantic.sources)
               for role, source in sources.items() if role in ("gt", "pred")]
    if all(gridded):   # a .npy mask has no grid beyond its shape
        try:
            require_same_grid(case.geometry, semantic.geometry, instances, f"{names['gt']} and {names['pred']}",
                              can_resample=False)
        except InputError as error:
            raise InputError(f"{error} ({advice}.)") from None
    return SemanticMasks(gt=semantic.gt, pred=semantic.pred, labels=semantic.labels,
                         num_classes=max(semantic.num_classes, 2),
                         sources={"semantic_gt": semantic.sources["gt"], "semantic_pred": semantic.sources["pred"]})


def score_objects(case: Case, options: ObjectOptions, ignore_index: int | None = None,
                  semantic: SemanticMasks | None = None) -> CaseObjects:
    """Lesion- or instance-mode object scores of a case.

    Parameters
    ----------
    case : Case
        From :func:`app.io.load_case`; masks ``(z, y, x)``.
    options : ObjectOptions
    ignore_index : int, optional
        Ground-truth label left out: those voxels are background in both masks here.
    semantic : SemanticMasks, optional
        Instance mode: each instance takes its class from these (:data:`INSTANCE_CLASSES`); without
        them every instance is of one class.

    Returns
    -------
    CaseObjects

    Raises
    ------
    InputError
        A connectivity that does not fit the image's dimension, or a size in mL for an image without
        a physical pixel size, or an instance lying entirely on semantic background.
    """
    gt, pred = case.gt, case.pred
    if ignore_index is not None:
        ignored = gt == ignore_index
        gt, pred = np.where(ignored, 0, gt), np.where(ignored, 0, pred)
    flat = case.geometry.size[2] == 1
    connectivity = None if options.instances else _connectivity(options.connectivity, flat)
    min_voxels = _min_voxels(case, options)
    spacing = case.geometry.spacing_zyx
    common = {"iou_threshold": options.iou_threshold, "min_size": min_voxels, "spacing": spacing,
              "index_to_world": index_to_lps(case)}
    conventions = dict(CONVENTIONS)
    if options.instances:
        by_class = {} if semantic is None else {"target_semantic": semantic.gt, "preds_semantic": semantic.pred,
                                                "num_classes": semantic.num_classes}
        scores = _instance_scores(gt, pred, by_class, common)
        extra = {tau: {entry.class_index: entry.counts for entry in _instance_scores(
                     gt, pred, by_class, {"iou_threshold": tau, "min_size": min_voxels, "spacing": spacing}).classes}
                 for tau in INSTANCE_EXTRA_THRESHOLDS}
        if semantic is None:
            names = {1: "instances"}
        else:
            names = {index: semantic.labels.name(index) for index in range(1, semantic.num_classes)}
            conventions["instance_classes"] = INSTANCE_CLASSES
    else:
        classes = max(case.num_classes, 2)
        scores = de.object_scores(target=gt, preds=pred, num_classes=classes,
                                  connectivity=None if connectivity is None else _engine_connectivity(connectivity,
                                                                                                      flat),
                                  **common)
        extra = None
        names = {index: case.labels.name(index) for index in range(1, classes)}
    physical = case.has_physical_spacing
    entries = tuple(_class_entry(entry, names[entry.class_index], physical, extra)
                    for entry in scores.classes if entry.class_index != ignore_index)
    return CaseObjects(mode=options.mode, iou_threshold=options.iou_threshold,
                       connectivity=None if options.instances else (connectivity or (8 if flat else 26)),
                       min_size_voxels=min_voxels, min_size_ml=options.min_size_ml, conventions=conventions,
                       classes=entries, voxel_ml=case.geometry.voxel_volume_ml if physical else None)


def foreground_case(case: Case, ignore_index: int | None = None) -> Case:
    """The case an instance image is scored as voxel by voxel: background and one foreground class.

    In instance mode every label id is one object, not one class, so the voxel scores (Dice, the
    confusion matrix, the report's table and key slices) compare foreground with background.

    Raises
    ------
    InputError
        Class scores (``--probs`` / ``--logits``) or ``--ignore-index``, which have no meaning for
        instance ids.
    """
    if case.scores is not None:
        raise InputError("--instances scores instance images: class probabilities or logits do not apply; "
                         "leave out --probs / --logits.")
    if ignore_index is not None:
        raise InputError("--instances scores instance images: --ignore-index does not apply to instance ids; "
                         "leave it out.")
    names = {0: "background", 1: "instances (foreground)"}
    return replace(case, gt=(case.gt > 0).astype(np.uint8), pred=(case.pred > 0).astype(np.uint8), num_classes=2,
                   labels=LabelTable.from_names(names, source_format="instance mode"),
                   messages=[*case.messages, "instance mode: voxel scores compare foreground (any instance id) "
                                             "with background; objects are the instance ids"])


def semantic_case(case: Case, semantic: SemanticMasks, ignore_index: int | None = None) -> Case:
    """The case instance images with semantic masks are scored as voxel by voxel: the semantic masks.

    Their classes are the objects' classes, so each row of the Dice table (and of ``--csv`` and
    metrics.csv) holds a class's voxel scores and its object counts.

    Raises
    ------
    InputError
        As :func:`foreground_case`.
    """
    foreground_case(case, ignore_index)   # the same refusals
    return replace(case, gt=semantic.gt, pred=semantic.pred, num_classes=semantic.num_classes, labels=semantic.labels,
                   sources={**case.sources, **semantic.sources},
                   messages=[*case.messages, "instance mode with semantic masks: voxel scores are those of the "
                                             "semantic masks; objects are the instance ids, each of its class"])


def index_to_lps(case: Case) -> np.ndarray:
    """``(4, 4)`` affine from a voxel index ``(z, y, x)`` to LPS mm ``(x, y, z)`` of the case's grid."""
    geometry = case.geometry
    direction = np.asarray(geometry.direction, dtype=np.float64).reshape(3, 3)
    affine = np.eye(4)
    for array_axis, image_axis in enumerate((2, 1, 0)):
        affine[:3, array_axis] = direction[:, image_axis] * geometry.spacing[image_axis]
    affine[:3, 3] = geometry.origin
    return affine


def _connectivity(given: int | None, flat: bool) -> int | None:
    """The neighbour count in the image's own terms (4/8 in 2D), checked; None: full."""
    if given is None:
        return None
    if flat:
        return {6: 4, 18: 8, 26: 8}.get(given, given)
    if given in (4, 8):
        raise InputError(f"--connectivity {given} is for 2D images; this case is 3D: use 6, 18 or 26.")
    return given


def _engine_connectivity(connectivity: int, flat: bool) -> int:
    """The 3D neighbour count that joins the same voxels of a single-slice ``(1, y, x)`` volume."""
    return {4: 6, 8: 26}[connectivity] if flat else connectivity


def _min_voxels(case: Case, options: ObjectOptions) -> int:
    if options.min_size_ml is None:
        return options.min_size_voxels or 0
    if not case.has_physical_spacing:
        raise InputError(f"--min-size {options.min_size_ml:g}ml: this image has no physical pixel size; "
                         "give the size in pixels (for example --min-size 20).")
    # Objects smaller than the volume are left out; the tolerance keeps one of exactly that volume in.
    return max(0, math.ceil(options.min_size_ml / case.geometry.voxel_volume_ml - 1e-9))


def _instance_scores(gt: np.ndarray, pred: np.ndarray, by_class: dict, common: dict) -> de.ObjectScores:
    """:func:`dice_engine.instance_scores`, with an instance on semantic background as an InputError."""
    try:
        return de.instance_scores(target=gt, preds=pred, **by_class, **common)
    except de.UnclassifiedInstance as error:
        option, image = ("--semantic-gt", "--gt") if error.which == "gt" else ("--semantic-pred", "--pred")
        raise InputError(f"{option}: {error.count} instance(s) of {image} lie entirely on background of the "
                         f"semantic mask (the first is instance id {error.instance_id}), so they have no class. "
                         f"Give the semantic mask of the same image, or leave out --semantic-gt / "
                         f"--semantic-pred to score every instance as one class.") from None


def _class_entry(entry: de.ClassObjects, name: str, physical: bool, extra) -> ClassObjectScore:
    counts = entry.counts
    items = sorted((*entry.missed, *entry.false), key=lambda o: (-o.voxels, o.mask, o.anchor))
    at = None if extra is None else {str(tau): {"f1": _number(c[entry.class_index].f1),
                                                "pq": _number(c[entry.class_index].pq)} for tau, c in extra.items()}
    return ClassObjectScore(
        index=entry.class_index, name=name, tp=counts.tp, fp=counts.fp, fn=counts.fn,
        **{key: _number(getattr(counts, key)) for key in ("precision", "recall", "f1", "pq", "sq", "rq")},
        gt_objects=len(entry.gt_objects), pred_objects=len(entry.pred_objects), gt_left_out=entry.gt_left_out,
        pred_left_out=entry.pred_left_out, items=tuple(_item(o, physical) for o in items), at_thresholds=at,
        matched=tuple(_item(o, physical) for o in entry.gt_objects if o.status == "matched"))


def _item(obj: de.SegmentObject, physical: bool) -> ObjectItem:
    return ObjectItem(kind=obj.status, voxels=obj.voxels, volume_ml=obj.volume_ml if physical else None,
                      centroid_voxel_zyx=tuple(round(v, 3) for v in obj.centroid_voxel),
                      centroid_mm=tuple(round(v, 3) for v in obj.centroid_world), key_slice_zyx=obj.largest_slices,
                      iou=obj.iou, dice=obj.dice, distance_mm=_number(obj.distance_mm))


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
