"""Object scores that follow edits, in lesion or instance mode: :class:`LiveObjects`.

An edit of a box ``B`` of one mask can change only the objects with a voxel in ``B`` grown by one
voxel (the others neither lose a voxel nor touch a new one, whatever the connectivity), and the new
objects of the edited mask are the components, per class, of those objects' remaining voxels and of
``B``'s new voxels. So an edit relabels exactly those voxels, inside the union of ``B`` and the
affected objects' boxes (an object crossing ``B`` is relabelled as a whole), recounts their overlaps
with the other mask, and re-matches only the classes involved. Objects are named by their first
voxel in C order (the anchor), so the result equals :func:`dice_engine.object_scores` of the edited
masks exactly; the hypothesis test in ``tests/dice_engine/test_live_objects.py`` checks that for any
edit sequence.

In instance mode the masks are instance images and an edit writes instance ids: the objects it can
change are the ids it removes or writes (an id need not be connected, so nothing else moves). Each of
them is described again over its old box and the edit's box, and its overlaps with the other image
recounted there; the hypothesis test in ``tests/dice_engine/test_live_instances.py`` checks it against
:func:`dice_engine.instance_scores`. With semantic masks (``target_semantic`` / ``preds_semantic``) an edit
writes ids and classes together; the class of an id is kept by voxel counts per (id, class)
(:class:`~dice_engine.instance_classes.InstanceClassCounts`), so only the ids the edit touches can change
class, and they are described again with their class painted over their voxels.
"""

from __future__ import annotations

import numpy as np

from dice_engine._inputs import ArrayLike, as_labels, check_same_shape, normalise_region, resolve_num_classes
from dice_engine._object_cache import BOUNDARY_VOXEL_BYTES, ObjectScoreCache, face_boundary_voxels
from dice_engine._object_tables import (
    ObjectTables,
    grow,
    label_array,
    label_components,
    make_room,
    overlaps_in,
    records_of,
    structure,
    union,
)
from dice_engine.instance_classes import InstanceClassCounts, majority_classes
from dice_engine.object_matching import DetectionCounts, detection_counts
from dice_engine.objects import (
    INSTANCE_IOU_THRESHOLD,
    LESION_IOU_THRESHOLD,
    ObjectScores,
    class_matching,
    scores_from_tables,
)

__all__ = ["LiveObjects", "score_cache_bytes"]

WHICH = ("gt", "pred")
KEPT_MASK_BYTES = 64_000_000
"""At most this many bytes of :meth:`LiveObjects.object_mask` results are kept for the next calls."""


class LiveObjects:
    """Objects of a (ground truth, prediction) pair, updated edit by edit.

    Parameters
    ----------
    target, preds : array-like of int
        Label maps (lesion mode) or instance-id images (instance mode) of the same shape; copied.
        Keyword-only.
    num_classes : int, optional
        Lesion mode: ``C``; default the largest label + 1. Classes 1..C-1 are scored; edits must stay
        below ``C``. Ignored in instance mode (one class, 1).
    iou_threshold : float, optional
        τ; default 0.1 in lesion mode, 0.5 in instance mode.
    connectivity, min_size
        As :func:`dice_engine.object_scores` (``connectivity`` only in lesion mode).
    instances : bool
        Instance mode (:func:`dice_engine.instance_scores`): every non-zero id is one object of class 1,
        and edits write instance ids (0 .. 2**31 - 1).
    target_semantic, preds_semantic : array-like of int, optional
        Instance mode: semantic masks of the same shape (copied); each instance is an object of its majority
        non-zero class there (:func:`dice_engine.instance_classes.majority_classes`), classes 1..C-1 with
        ``C = num_classes`` (default their largest label + 1). Edits then give ``semantic_values`` too. An id
        whose voxels an edit leaves all on semantic background has no class and is not counted.

    Examples
    --------
    >>> live = LiveObjects(target=[[1, 0, 1]], preds=[[1, 0, 0]], num_classes=2)
    >>> live.counts()[1].fn
    1
    >>> touched = live.apply_edit((slice(0, 1), slice(2, 3)), [[1]], which="pred")
    >>> live.counts()[1].tp
    2
    """

    def __init__(self, *, target: ArrayLike, preds: ArrayLike, num_classes: int | None = None,
                 iou_threshold: float | None = None, connectivity: int | None = None,
                 min_size: int = 0, instances: bool = False, target_semantic: ArrayLike | None = None,
                 preds_semantic: ArrayLike | None = None) -> None:
        target_np, preds_np = label_array(target, "target"), label_array(preds, "preds")
        check_same_shape(target_np, preds_np)
        self.instances = bool(instances)
        self._semantic = None
        if (target_semantic is None) != (preds_semantic is None) or (target_semantic is not None and not instances):
            raise ValueError("give both target_semantic and preds_semantic, and only in instance mode")
        if self.instances and connectivity is not None:
            raise ValueError("connectivity does not apply to instance mode: every id is one object")
        if iou_threshold is None:
            iou_threshold = INSTANCE_IOU_THRESHOLD if self.instances else LESION_IOU_THRESHOLD
        if num_classes is None:
            num_classes = max(int(target_np.max(initial=0)), int(preds_np.max(initial=0))) + 1
        if target_semantic is not None:
            self._semantic = {"gt": label_array(target_semantic, "target_semantic").copy(),
                              "pred": label_array(preds_semantic, "preds_semantic").copy()}
            check_same_shape(target_np, self._semantic["gt"])
            check_same_shape(target_np, self._semantic["pred"])
            largest = max(int(mask.max(initial=0)) for mask in self._semantic.values())
            num_classes = largest + 1 if num_classes is None else num_classes
            if largest >= num_classes:
                raise ValueError(f"a semantic label is {largest}, but num_classes={num_classes}")
        self.num_classes = resolve_num_classes(num_classes) if self._semantic or not self.instances else 2
        self.iou_threshold, self.connectivity, self.min_size = float(iou_threshold), connectivity, int(min_size)
        self.shape = tuple(target_np.shape)
        self._struct = structure(len(self.shape), connectivity)
        self._classes = tuple(range(1, self.num_classes))
        if self._semantic is not None:   # the class maps: each instance's voxels hold its class
            self._class_counts = {which: InstanceClassCounts(ids, self._semantic[which], self.num_classes)
                                  for which, ids in (("gt", target_np), ("pred", preds_np))}
            self._tables = ObjectTables.instances(target_np, preds_np, {
                which: majority_classes(ids, self._semantic[which], which)
                for which, ids in (("gt", target_np), ("pred", preds_np))})
        elif self.instances:   # ObjectTables.instances keeps copies of the ids as the masks' labels
            self._tables = ObjectTables.instances(target_np, preds_np)
        else:
            self._tables = ObjectTables.lesions(target_np.copy(), preds_np.copy(), self._classes, self._struct)
        self._matchings: dict[int, tuple] = {}
        self._score_cache = ObjectScoreCache()
        self._object_masks: dict[tuple, np.ndarray] = {}

    def apply_edit(self, region, new_values: ArrayLike, which: str = "pred",
                   semantic_values: ArrayLike | None = None) -> set[int]:
        """Write ``new_values`` into ``region`` of one mask and bring every object up to date.

        Parameters
        ----------
        region : tuple of slice
            One step-1 slice per dimension (fewer: the rest are whole).
        new_values : array-like of int
            The region's new labels, shape = the region's shape, each in ``0..C-1`` (instance mode:
            instance ids, ``0..2**31 - 1``).
        which : {"pred", "gt"}
        semantic_values : array-like of int, optional
            With semantic masks (and only then): the region's new semantic classes, ``0..C-1``.

        Returns
        -------
        set of int
            The classes whose objects or matching may have changed.
        """
        if (semantic_values is None) != (self._semantic is None):
            raise ValueError("semantic_values go with semantic masks, and only with them")
        if which not in WHICH:
            raise ValueError(f"which must be 'pred' or 'gt', got {which!r}")
        box = self._normalise_region(region)
        new = as_labels(new_values, "new_values").cpu().numpy()
        shape = tuple(s.stop - s.start for s in box)
        if new.shape != shape:
            raise ValueError(f"new_values has shape {new.shape}, but the region has shape {shape}")
        top = np.iinfo(np.int32).max if self.instances else self.num_classes - 1
        if new.size and (int(new.min()) < 0 or int(new.max()) > top):
            raise ValueError(f"new_values must lie in 0..{top}")
        if new.size == 0:
            return set()
        if self._semantic is not None:
            classes = as_labels(semantic_values, "semantic_values").cpu().numpy()
            if classes.shape != shape or int(classes.min()) < 0 or int(classes.max()) >= self.num_classes:
                raise ValueError(f"semantic_values must have the region's shape {shape} and lie in "
                                 f"0..{self.num_classes - 1}")
            return self._edit_instances(box, new, which, classes)
        if self.instances:
            return self._edit_instances(box, new, which)
        tables = self._tables
        mask, labels, records = tables.masks[which], tables.labels[which], tables.records[which]
        affected = np.unique(labels[grow(box, self.shape)])
        affected = affected[affected > 0]
        work = union([box, *(records[int(i)].box for i in affected)])
        old_objects = np.isin(labels[work], affected)
        in_box = np.zeros(old_objects.shape, dtype=bool)
        in_box[tuple(slice(b.start - w.start, b.stop - w.start) for b, w in zip(box, work, strict=True))] = True
        touched = {records[int(i)].class_index for i in affected} | {int(v) for v in np.unique(new) if v > 0}
        mask[box] = new
        labels[work][old_objects] = 0
        for object_id in affected.tolist():
            del records[object_id]
        gone = set(affected.tolist())
        side = 0 if which == "gt" else 1
        tables.overlaps = {pair: n for pair, n in tables.overlaps.items() if pair[side] not in gone}
        new_ids, tables.next_ids[which] = label_components(mask, tables.labels, which, work, old_objects | in_box,
                                                           sorted(touched), self._struct, tables.next_ids[which])
        records.update(records_of(tables.labels[which], mask, new_ids, work))
        fresh = set(new_ids)
        found = overlaps_in(tables.masks["gt"], tables.masks["pred"], tables.labels["gt"], tables.labels["pred"], work)
        tables.overlaps.update({pair: n for pair, n in found.items() if pair[side] in fresh})
        for class_index in touched:
            self._matchings.pop(class_index, None)
        self._forget(which, gone, touched)
        return touched

    def _edit_instances(self, box: tuple[slice, ...], new: np.ndarray, which: str,
                        classes: np.ndarray | None = None) -> set[int]:
        """Instance mode: redo the records and overlaps of the ids the edit removes or writes (with semantic
        masks: also of the ids whose voxels change class)."""
        tables = self._tables
        labels, records = make_room(tables.labels, which, int(new.max())), tables.records[which]
        old = labels[box]
        changed = old != new
        if classes is not None:
            old_classes = self._semantic[which][box]
            changed |= old_classes != classes
            self._class_counts[which].move(old[changed], old_classes[changed], new[changed], classes[changed])
            self._semantic[which][box] = classes
        affected = np.unique(np.concatenate((old[changed], new[changed])))
        affected = affected[affected > 0]
        if affected.size == 0:
            return set()
        work = union([box, *(records[i].box for i in affected.tolist() if i in records)])
        touched = {records[i].class_index for i in affected.tolist() if i in records} if classes is not None else {1}
        labels[box] = new
        if classes is None:
            tables.masks[which][box] = new > 0
        else:   # paint each affected id's class over its voxels (class 0 where no id is left)
            lookup = np.zeros(int(affected[-1]) + 1, dtype=np.int64)
            lookup[affected] = self._class_counts[which].classes_of(affected)
            touched |= set(lookup[affected].tolist())
            painted, ids = tables.masks[which][work], labels[work]
            mine = np.isin(ids, affected)
            painted[mine] = lookup[ids[mine]]
            tables.masks[which][box][new == 0] = 0
        touched.discard(0)
        gone = set(affected.tolist())
        for object_id in gone:
            records.pop(object_id, None)
        present = np.unique(labels[work])
        kept = np.intersect1d(present, affected)
        records.update(records_of(labels, tables.masks[which], kept.tolist(), work))
        side = 0 if which == "gt" else 1
        tables.overlaps = {pair: n for pair, n in tables.overlaps.items() if pair[side] not in gone}
        within = np.isin(labels[work], kept)
        tables.overlaps.update(overlaps_in(tables.masks["gt"], tables.masks["pred"], tables.labels["gt"],
                                           tables.labels["pred"], work, within))
        for class_index in touched:
            self._matchings.pop(class_index, None)
        self._forget(which, gone, touched)
        return touched

    def counts(self) -> dict[int, DetectionCounts]:
        """TP, FP, FN and the figures derived from them, per foreground class."""
        result = {}
        for class_index in self._classes:
            gt_ids, pred_ids, (_, _, ious), _, _ = self._matching(class_index)
            result[class_index] = detection_counts(len(ious), len(pred_ids) - len(ious), len(gt_ids) - len(ious),
                                                   float(ious.sum()))
        return result

    def matches(self, class_index: int) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
        """The matched pairs of a class as ``(gt anchor, pred anchor, IoU)``, by ground-truth anchor."""
        gt_ids, pred_ids, (gt_pos, pred_pos, ious), _, _ = self._matching(class_index)
        anchor = {which: self._tables.records[which] for which in WHICH}
        return [(self._anchor(anchor["gt"][gt_ids[g]].anchor), self._anchor(anchor["pred"][pred_ids[p]].anchor), iou)
                for g, p, iou in zip(gt_pos.tolist(), pred_pos.tolist(), ious.tolist(), strict=True)]

    def scores(self, spacing=None, index_to_world=None) -> ObjectScores:
        """Every object with its figures, as :func:`dice_engine.object_scores` of the current masks.

        Only what the edits since the last call changed is described again: the geometry of new objects,
        the distances involving them and the classes they touched (:mod:`dice_engine._object_cache`); the
        other classes' :class:`~dice_engine.objects.ClassObjects` are the same objects as last time.
        Calling with another ``spacing`` or ``index_to_world`` describes everything again.
        """
        return scores_from_tables(self._tables, self._classes, mode="instance" if self.instances else "lesion",
                                  iou_threshold=self.iou_threshold,
                                  connectivity=self.connectivity, min_size=self.min_size, spacing=spacing,
                                  index_to_world=index_to_world, cache=self._score_cache)

    def object_mask(self, which: str, anchor: tuple[int, ...], box: tuple[tuple[int, int], ...]) -> np.ndarray:
        """The voxels of one object of the current masks inside ``box``.

        Parameters
        ----------
        which : {"gt", "pred"}
        anchor : tuple of int
            The object's first voxel in C order (:attr:`dice_engine.objects.SegmentObject.anchor`).
        box : tuple of (int, int)
            ``[start, stop)`` per axis, e.g. the object's bounding box.

        Returns
        -------
        numpy.ndarray
            bool, the box's shape, read-only: True on the object's voxels. Kept until an edit changes the
            object (up to :data:`KEPT_MASK_BYTES` in all), so asking again after other edits costs nothing.
        """
        labels = self._tables.labels[which]
        object_id = int(labels[tuple(anchor)])
        if object_id == 0:
            raise ValueError(f"no object of the {which} mask has its first voxel at {tuple(anchor)}")
        key = (which, object_id, tuple(anchor), tuple(map(tuple, box)))
        inside = self._object_masks.get(key)
        if inside is None:
            inside = labels[tuple(slice(lo, hi) for lo, hi in box)] == object_id
            inside.flags.writeable = False
            if sum(a.nbytes for a in self._object_masks.values()) + inside.nbytes > KEPT_MASK_BYTES:
                self._object_masks.clear()
            self._object_masks[key] = inside
        return inside

    def _forget(self, which: str, gone: set[int], touched: set[int]) -> None:
        """Drop what was kept about the objects ``gone`` of ``which`` and the classes ``touched``."""
        self._score_cache.forget(which, gone, touched)
        self._object_masks = {key: inside for key, inside in self._object_masks.items()
                              if key[0] != which or key[1] not in gone}

    def _matching(self, class_index: int) -> tuple:
        if class_index not in self._matchings:
            self._matchings[class_index] = class_matching(self._tables, class_index, self.iou_threshold,
                                                          self.min_size)
        return self._matchings[class_index]

    def _anchor(self, flat: int) -> tuple[int, ...]:
        return tuple(int(v) for v in np.unravel_index(flat, self.shape))

    def _normalise_region(self, region) -> tuple[slice, ...]:
        return normalise_region(region, self.shape)


def score_cache_bytes(*, target: np.ndarray, preds: np.ndarray, exact: bool = True) -> int:
    """About how many bytes :meth:`LiveObjects.scores` keeps between edits for these masks (the memory budget's
    hook, docs/architecture.md §5c), counted from the masks before anything is built.

    Parameters
    ----------
    target, preds : numpy.ndarray
        The masks :class:`LiveObjects` would be given: label maps, or instance images in instance mode.
    exact : bool
        True: :data:`~dice_engine._object_cache.BOUNDARY_VOXEL_BYTES` per face-boundary voxel of both masks
        (:func:`~dice_engine._object_cache.face_boundary_voxels`, a few passes over each mask). False: per
        non-zero voxel, an upper bound from one count per mask.

    Returns
    -------
    int
    """
    count = face_boundary_voxels if exact else np.count_nonzero
    return BOUNDARY_VOXEL_BYTES * sum(int(count(np.asarray(mask))) for mask in (target, preds))
