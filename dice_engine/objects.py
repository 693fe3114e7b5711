"""Object-level scores: which lesions or instances were detected, missed or invented.

Objects (docs/architecture.md §5, "Objects"):

* **lesion mode** (:func:`object_scores`): the objects of class ``c`` are the connected components of
  ``c`` in each mask (``scipy.ndimage.label``; full connectivity by default — 26 neighbours in 3D, 8 in
  2D — or ``connectivity`` 6/18/26, 4/8), for every foreground class 1..C-1;
* **instance mode** (:func:`instance_scores`): every non-zero id of an instance image is one object of
  a single foreground class (class 1), connected or not, or of the class a separate semantic mask
  gives it (the majority of its voxels' non-zero semantic labels; :mod:`dice_engine.instance_classes`).

Objects with fewer than ``min_size`` voxels are left out of the matching and the counts (their number
is reported). Ground-truth and predicted objects of the same class are matched one-to-one by IoU ≥ τ
(:mod:`dice_engine.object_matching`); the counts are TP, FN (missed), FP (false) with precision,
recall, F1 and panoptic quality. Per object: voxels, volume in mL, centroid (voxel index and world
position through ``index_to_world``), bounding box, the slice with most voxels along each axis, IoU
and Dice with its match (or with the most-overlapping object when unmatched), and the distance in mm
to the nearest object of the other mask of its class (0 when they overlap).

Masks are taken by keyword only, ``target=`` (ground truth) and ``preds=`` (prediction), as in the
rest of the engine (see :mod:`dice_engine`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dice_engine._inputs import ArrayLike, check_same_shape, resolve_num_classes
from dice_engine._object_cache import ObjectScoreCache, box_corners
from dice_engine._object_tables import ObjectTables, label_array, structure
from dice_engine.instance_classes import majority_classes
from dice_engine.object_matching import DetectionCounts, detection_counts, match_objects

__all__ = ["ClassObjects", "ObjectScores", "SegmentObject", "class_matching", "instance_scores", "object_scores",
           "scores_from_tables"]

LESION_IOU_THRESHOLD = 0.1
"""Default τ of lesion mode."""
INSTANCE_IOU_THRESHOLD = 0.5
"""Default τ of instance mode (StarDist's)."""


@dataclass(frozen=True)
class SegmentObject:
    """One ground-truth or predicted object and how it was matched.

    Attributes
    ----------
    mask : {"gt", "pred"}
    class_index : int
    status : {"matched", "missed", "false"}
        ``missed``: a ground-truth object without a match; ``false``: a predicted one without a match.
    voxels : int
    volume_ml : float
        ``voxels`` × the voxel volume (product of ``spacing`` in mm³ / 1000).
    centroid_voxel : tuple of float
        Mean voxel index, array axis order.
    centroid_world : tuple of float
        ``index_to_world`` applied to ``centroid_voxel`` (mm in the caller's world frame).
    box : tuple of (int, int)
        Bounding box per axis, ``[start, stop)``.
    anchor : tuple of int
        The object's first voxel in C order: its name, independent of label ids.
    largest_slices : tuple of int
        Per axis, the slice holding most of its voxels.
    iou, dice : float
        With its match; unmatched: with the most-overlapping object of the other mask (0 when none).
    match_anchor : tuple of int or None
        The matched object's anchor.
    distance_mm : float
        Smallest distance between voxel centres to an object of the other mask of the same class
        (0 when they overlap); NaN when the other mask has no object of the class.
    """

    mask: str
    class_index: int
    status: str
    voxels: int
    volume_ml: float
    centroid_voxel: tuple[float, ...]
    centroid_world: tuple[float, ...]
    box: tuple[tuple[int, int], ...]
    anchor: tuple[int, ...]
    largest_slices: tuple[int, ...]
    iou: float
    dice: float
    match_anchor: tuple[int, ...] | None
    distance_mm: float


@dataclass(frozen=True)
class ClassObjects:
    """Object counts and objects of one class.

    Attributes
    ----------
    class_index : int
    counts : DetectionCounts
        TP, FP, FN, precision, recall, F1, SQ, RQ, PQ.
    gt_objects, pred_objects : tuple of SegmentObject
        Objects kept (at least ``min_size`` voxels), ordered by anchor.
    gt_left_out, pred_left_out : int
        Objects smaller than ``min_size``, left out.
    """

    class_index: int
    counts: DetectionCounts
    gt_objects: tuple[SegmentObject, ...]
    pred_objects: tuple[SegmentObject, ...]
    gt_left_out: int
    pred_left_out: int

    @property
    def missed(self) -> tuple[SegmentObject, ...]:
        """Ground-truth objects without a match."""
        return tuple(o for o in self.gt_objects if o.status == "missed")

    @property
    def false(self) -> tuple[SegmentObject, ...]:
        """Predicted objects without a match."""
        return tuple(o for o in self.pred_objects if o.status == "false")


@dataclass(frozen=True)
class ObjectScores:
    """Object-level scores of a case: the settings and one :class:`ClassObjects` per scored class."""

    mode: str
    iou_threshold: float
    connectivity: int | None
    min_size: int
    classes: tuple[ClassObjects, ...]


def object_scores(*, target: ArrayLike, preds: ArrayLike, num_classes: int | None = None,
                  iou_threshold: float = LESION_IOU_THRESHOLD, connectivity: int | None = None, min_size: int = 0,
                  spacing=None, index_to_world=None) -> ObjectScores:
    """Lesion mode: connected components of every foreground class, matched per class.

    Parameters
    ----------
    target, preds : array-like of int
        Ground-truth and predicted label maps, same shape ``(z, y, x)`` or ``(y, x)``; keyword-only.
    num_classes : int, optional
        ``C``; default the largest label + 1. Classes 1..C-1 are scored.
    iou_threshold : float
        τ: a pair is matched when IoU ≥ τ (0: any overlap).
    connectivity : int, optional
        Neighbours that connect voxels: 4 or 8 in 2D, 6, 18 or 26 in 3D; default full (8 / 26).
    min_size : int
        Objects with fewer voxels are left out.
    spacing : sequence of float, optional
        Voxel size in mm per array axis; default 1.
    index_to_world : array-like, optional
        ``(ndim + 1, ndim + 1)`` affine from voxel index (array axis order) to world mm; default
        ``diag(spacing)``.

    Returns
    -------
    ObjectScores
    """
    target_np, preds_np, shape = _pair(target, preds)
    classes = range(1, _num_classes(num_classes, target_np, preds_np))
    tables = ObjectTables.lesions(target_np, preds_np, classes, structure(len(shape), connectivity))
    return scores_from_tables(tables, classes, mode="lesion", iou_threshold=iou_threshold, connectivity=connectivity,
                              min_size=min_size, spacing=spacing, index_to_world=index_to_world)


def instance_scores(*, target: ArrayLike, preds: ArrayLike, iou_threshold: float = INSTANCE_IOU_THRESHOLD,
                    min_size: int = 0, spacing=None, index_to_world=None, target_semantic: ArrayLike | None = None,
                    preds_semantic: ArrayLike | None = None, num_classes: int | None = None) -> ObjectScores:
    """Instance mode: every non-zero id of each instance image is one object of class 1, or of the class
    given by a semantic mask.

    Parameters
    ----------
    target, preds : array-like of int
        Instance-id images of the same shape; keyword-only.
    target_semantic, preds_semantic : array-like of int, optional
        Class label maps of the same shape, both or neither: each instance takes the most frequent
        non-zero class inside it (ties: the smallest; :func:`dice_engine.instance_classes.majority_classes`),
        and objects are matched within their class. Without them every instance is of class 1.
    num_classes : int, optional
        With semantic masks: ``C``, classes 1..C-1 are scored (default: their largest label + 1).
    iou_threshold, min_size, spacing, index_to_world
        As :func:`object_scores`.

    Raises
    ------
    ValueError
        Shapes differ, only one semantic mask is given, or a class is not below ``num_classes``.
    dice_engine.instance_classes.UnclassifiedInstance
        An instance lies entirely on semantic background.
    """
    target_np, preds_np, shape = _pair(target, preds)
    if (target_semantic is None) != (preds_semantic is None):
        raise ValueError("give both semantic masks (target_semantic and preds_semantic) or neither")
    if target_semantic is None:
        tables, classes = ObjectTables.instances(target_np, preds_np), (1,)
    else:
        semantic_target, semantic_preds, semantic_shape = _pair(target_semantic, preds_semantic,
                                                                ("target_semantic", "preds_semantic"))
        if semantic_shape != shape:
            raise ValueError(f"the semantic masks have shape {semantic_shape}, the instance images {shape}")
        painted = {"gt": majority_classes(target_np, semantic_target, "gt"),
                   "pred": majority_classes(preds_np, semantic_preds, "pred")}
        classes = range(1, _num_classes(num_classes, semantic_target, semantic_preds))
        for which, painted_classes in painted.items():
            if int(painted_classes.max(initial=0)) >= classes.stop:
                raise ValueError(f"{which}: an instance has class {int(painted_classes.max())}, but num_classes="
                                 f"{classes.stop} allows classes 0..{classes.stop - 1}")
        tables = ObjectTables.instances(target_np, preds_np, painted)
    return scores_from_tables(tables, classes, mode="instance", iou_threshold=iou_threshold, connectivity=None,
                              min_size=min_size, spacing=spacing, index_to_world=index_to_world)


def class_matching(tables: ObjectTables, class_index: int, iou_threshold: float, min_size: int):
    """The kept objects of one class (ids ordered by anchor) and their matching.

    Returns
    -------
    (list of int, list of int, tuple of numpy.ndarray, int, int)
        Ground-truth ids, predicted ids, :func:`~dice_engine.object_matching.match_objects`' arrays
        (positions in those lists, IoU), and the numbers of ground-truth and predicted objects left out.
    """
    kept, left_out = {}, {}
    for which in ("gt", "pred"):
        of_class = [(r.anchor, i, r.voxels) for i, r in tables.records[which].items() if r.class_index == class_index]
        kept[which] = [i for _, i, n in sorted(of_class) if n >= min_size]
        left_out[which] = len(of_class) - len(kept[which])
    gt_at = {object_id: k for k, object_id in enumerate(kept["gt"])}
    pred_at = {object_id: k for k, object_id in enumerate(kept["pred"])}
    overlaps = {(gt_at[g], pred_at[p]): n for (g, p), n in tables.overlaps.items() if g in gt_at and p in pred_at}
    sizes = {which: np.array([tables.records[which][i].voxels for i in kept[which]], dtype=np.int64)
             for which in kept}
    matching = match_objects(sizes["gt"], sizes["pred"], overlaps, iou_threshold)
    return kept["gt"], kept["pred"], matching, left_out["gt"], left_out["pred"]


def scores_from_tables(tables: ObjectTables, classes, *, mode: str, iou_threshold: float, connectivity: int | None,
                       min_size: int, spacing=None, index_to_world=None,
                       cache: ObjectScoreCache | None = None) -> ObjectScores:
    """Match every class of ``tables`` and describe its objects (see :func:`object_scores`).

    ``cache`` (:class:`dice_engine._object_cache.ObjectScoreCache`) keeps per-object geometry, pair
    distances and per-class results between calls on the same tables; a class it holds a result for is
    not described again. Without one, everything is computed (the same way).
    """
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    shape = tables.labels["gt"].shape
    spacing_mm = np.ones(len(shape)) if spacing is None else np.asarray(spacing, dtype=np.float64)
    if spacing_mm.shape != (len(shape),) or not np.all(np.isfinite(spacing_mm)) or np.any(spacing_mm <= 0):
        raise ValueError(f"spacing must be {len(shape)} positive numbers (array axis order), got {spacing}")
    affine = np.diag([*spacing_mm, 1.0]) if index_to_world is None else np.asarray(index_to_world, dtype=np.float64)
    if affine.shape != (len(shape) + 1,) * 2:
        raise ValueError(f"index_to_world must be {(len(shape) + 1,) * 2}, got {affine.shape}")
    if cache is None:
        cache = ObjectScoreCache()
    cache.use_settings((tuple(spacing_mm.tolist()), tuple(affine.ravel().tolist()), float(iou_threshold),
                        int(min_size)))
    voxel_ml = math.prod(spacing_mm.tolist()) / 1000.0
    results = []
    for class_index in classes:
        if class_index not in cache.class_results:
            cache.class_results[class_index] = _class_objects(tables, class_index, iou_threshold, min_size,
                                                              spacing_mm, affine, voxel_ml, cache)
        results.append(cache.class_results[class_index])
    return ObjectScores(mode=mode, iou_threshold=float(iou_threshold), connectivity=connectivity, min_size=min_size,
                        classes=tuple(results))


def _class_objects(tables: ObjectTables, class_index: int, iou_threshold: float, min_size: int,
                   spacing_mm: np.ndarray, affine: np.ndarray, voxel_ml: float,
                   cache: ObjectScoreCache) -> ClassObjects:
    """The matching, counts and described objects of one class."""
    gt_ids, pred_ids, (gt_pos, pred_pos, ious), gt_out, pred_out = class_matching(
        tables, class_index, iou_threshold, min_size)
    counts = detection_counts(len(ious), len(pred_ids) - len(ious), len(gt_ids) - len(ious), float(ious.sum()))
    partner = {("gt", g): ("pred", p, iou) for g, p, iou in zip(gt_pos.tolist(), pred_pos.tolist(), ious.tolist(),
                                                                strict=True)}
    partner.update({("pred", p): ("gt", g, iou) for (_, g), (_, p, iou) in partner.copy().items()})
    best = _best_overlaps(tables, gt_ids, pred_ids)
    kept_ids = {"gt": gt_ids, "pred": pred_ids}
    corners = {which: box_corners(tables, which, ids) for which, ids in kept_ids.items()}
    births = {which: cache.births(which, ids) for which, ids in kept_ids.items()}
    described = {}
    for which, other in (("gt", "pred"), ("pred", "gt")):
        items = []
        for k, object_id in enumerate(kept_ids[which]):
            best_iou = best.get((which, k), 0.0)
            if (which, k) in partner:
                _, other_position, iou = partner[(which, k)]
                status, match = "matched", tables.records[other][kept_ids[other][other_position]].anchor
            else:
                status, iou, match = ("missed" if which == "gt" else "false"), best_iou, None
            distance = 0.0 if best_iou > 0 else cache.nearest_mm(tables, which, object_id, kept_ids[other],
                                                                 corners[other], births[other], spacing_mm)
            figures = (status, float(iou), match, distance)
            item = cache.described(which, object_id, figures)
            if item is None:
                item = _describe(tables, which, class_index, object_id, cache.geometry(tables, which, object_id,
                                                                                       spacing_mm),
                                 figures, affine, voxel_ml)
                cache.keep_described(which, object_id, figures, item)
            items.append(item)
        described[which] = tuple(items)
    return ClassObjects(class_index=class_index, counts=counts, gt_objects=described["gt"],
                        pred_objects=described["pred"], gt_left_out=gt_out, pred_left_out=pred_out)


def _pair(target: ArrayLike, preds: ArrayLike, names: tuple[str, str] = ("target", "preds")):
    target_np, preds_np = label_array(target, names[0]), label_array(preds, names[1])
    check_same_shape(target_np, preds_np)
    return target_np, preds_np, tuple(target_np.shape)


def _num_classes(num_classes: int | None, *label_maps: np.ndarray) -> int:
    """``num_classes`` checked, or the largest label + 1 (at least 1)."""
    if num_classes is None:
        num_classes = max(int(m.max(initial=0)) for m in label_maps) + 1
    return resolve_num_classes(num_classes)


def _best_overlaps(tables: ObjectTables, gt_ids: list[int], pred_ids: list[int]) -> dict:
    """Largest IoU of each kept object with any kept object of the other mask, keyed ``(mask, position)``."""
    gt_at = {i: k for k, i in enumerate(gt_ids)}
    pred_at = {i: k for k, i in enumerate(pred_ids)}
    best: dict = {}
    for (g, p), shared in tables.overlaps.items():
        if g in gt_at and p in pred_at:
            iou = shared / (tables.records["gt"][g].voxels + tables.records["pred"][p].voxels - shared)
            for key in (("gt", gt_at[g]), ("pred", pred_at[p])):
                best[key] = max(best.get(key, 0.0), iou)
    return best


def _describe(tables: ObjectTables, which: str, class_index: int, object_id: int, info: dict, figures: tuple,
              affine: np.ndarray, voxel_ml: float) -> SegmentObject:
    """The :class:`SegmentObject` of one kept object: ``info`` its geometry, ``figures`` ``(status, IoU, flat
    anchor of its match or None, distance in mm)``."""
    record = tables.records[which][object_id]
    shape = tables.labels[which].shape
    status, iou, match, distance = figures
    world = affine @ np.array([*info["centroid"], 1.0])
    match_anchor = None if match is None else tuple(int(v) for v in np.unravel_index(match, shape))
    return SegmentObject(
        mask=which, class_index=class_index, status=status, voxels=record.voxels, volume_ml=record.voxels * voxel_ml,
        centroid_voxel=info["centroid"], centroid_world=tuple(float(v) for v in world[:-1]),
        box=tuple((s.start, s.stop) for s in record.box),
        anchor=tuple(int(v) for v in np.unravel_index(record.anchor, shape)), largest_slices=info["largest"],
        iou=iou, dice=float(2 * iou / (1 + iou)), match_anchor=match_anchor, distance_mm=distance)
