"""The object tables shared by :func:`dice_engine.object_scores` and :class:`dice_engine.LiveObjects`.

An *object table* is, for each of the two masks, a label array of object ids (0 = no object; every
object has its own id, unique across classes; ``uint16`` while the ids fit, else ``int32``:
:func:`id_dtype`, :func:`make_room`) and one :class:`ObjectRecord` per id, plus the voxel
counts of every overlap between a ground-truth and a predicted object **of the same class**. Objects
are connected components of each class (lesion mode, ``scipy.ndimage.label``) or the ids of an
instance image (instance mode). Ids are arbitrary; every result is ordered by each object's
*anchor*, its first voxel in C order, so a table kept up to date edit by edit and one built from
scratch give identical results (docs/architecture.md §5, "Objects").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dice_engine._inputs import as_labels

CONNECTIVITIES = {2: (4, 8), 3: (6, 18, 26)}
"""Neighbour counts accepted per number of dimensions (face, edge, corner connectivity)."""


@dataclass(frozen=True)
class ObjectRecord:
    """One object of one mask.

    Attributes
    ----------
    class_index : int
        The class of every voxel of the object (1 in instance mode).
    voxels : int
        Number of voxels.
    box : tuple of slice
        Bounding box, one step-1 slice per dimension.
    anchor : int
        Flat C-order index of the object's first voxel: its name, independent of label ids.
    """

    class_index: int
    voxels: int
    box: tuple[slice, ...]
    anchor: int


def structure(ndim: int, connectivity: int | None) -> np.ndarray:
    """The ``scipy.ndimage`` structuring element of a neighbour count (None: full connectivity).

    Parameters
    ----------
    ndim : int
        2 or 3 (other ranks accept only None: full connectivity).
    connectivity : int or None
        4 or 8 in 2D, 6, 18 or 26 in 3D.

    Returns
    -------
    numpy.ndarray
        ``(3,) * ndim`` bool.
    """
    if connectivity is None:
        return ndimage.generate_binary_structure(ndim, ndim)
    allowed = CONNECTIVITIES.get(ndim, ())
    if connectivity not in allowed:
        raise ValueError(f"connectivity {connectivity} is not defined for {ndim}-D masks; use one of "
                         f"{', '.join(map(str, allowed)) or 'None (full connectivity)'}")
    return ndimage.generate_binary_structure(ndim, allowed.index(connectivity) + 1)


def grow(box: tuple[slice, ...], shape: tuple[int, ...], by: int = 1) -> tuple[slice, ...]:
    """``box`` grown by ``by`` voxels on every side, clipped to ``shape``."""
    return tuple(slice(max(0, s.start - by), min(size, s.stop + by)) for s, size in zip(box, shape, strict=True))


def union(boxes: list[tuple[slice, ...]]) -> tuple[slice, ...]:
    """The bounding box of several boxes (at least one)."""
    return tuple(slice(min(b[axis].start for b in boxes), max(b[axis].stop for b in boxes))
                 for axis in range(len(boxes[0])))


ID_DTYPES = (np.dtype(np.uint16), np.dtype(np.int32))
"""Label array dtypes, smallest first: 2 bytes per voxel while ids stay below 65536, else 4."""


def id_dtype(largest: int) -> np.dtype:
    """The smallest of :data:`ID_DTYPES` holding ids up to ``largest``.

    Raises
    ------
    ValueError
        ``largest`` exceeds 2**31 - 1.
    """
    for dtype in ID_DTYPES:
        if largest <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"too many objects: ids up to {largest} exceed 2**31 - 1")


def label_array(values, name: str) -> np.ndarray:
    """A label map as numpy, without a copy where possible.

    A numpy integer array passes as it is (checked ``>= 0``), a bool array as a ``uint8`` view; anything
    else goes through :func:`dice_engine._inputs.as_labels` (torch tensors, floats holding whole numbers,
    sequences). The torch route would turn ``uint16`` into ``int32`` and copy read-only arrays: for the
    volumes of object scoring that is time and memory for nothing.

    Raises
    ------
    ValueError
        A negative label, or what :func:`~dice_engine._inputs.as_labels` refuses.
    """
    if isinstance(values, np.ndarray) and values.dtype == np.bool_:
        return values.view(np.uint8)
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.integer):
        if values.size and np.issubdtype(values.dtype, np.signedinteger) and int(values.min()) < 0:
            raise ValueError(f"{name}: labels must be >= 0, found {int(values.min())}")
        return values
    return as_labels(values, name).cpu().numpy()


def make_room(labels: dict, which: str, largest: int) -> np.ndarray:
    """``labels[which]``, first widened (copied to a larger dtype, in place in ``labels``) if it cannot hold
    ``largest``."""
    needed = id_dtype(largest)
    if needed.itemsize > labels[which].dtype.itemsize:
        labels[which] = labels[which].astype(needed)
    return labels[which]


def records_of(labels: np.ndarray, classes: np.ndarray, ids, region: tuple[slice, ...],
               boxes: list | None = None) -> dict[int, ObjectRecord]:
    """Records of the objects ``ids``, all lying inside ``region`` of ``labels``.

    Parameters
    ----------
    labels : numpy.ndarray
        Whole-volume object ids.
    classes : numpy.ndarray
        Whole-volume class labels of the same mask (the class of each object is read here).
    ids : iterable of int
        Ids to describe; each object must lie entirely inside ``region``.
    region : tuple of slice
        Where to look.
    boxes : list, optional
        ``scipy.ndimage.find_objects(labels[region])``, if already known.
    """
    local = labels[region]
    wanted = np.asarray(sorted(int(i) for i in ids), dtype=np.int64)
    if wanted.size == 0:
        return {}
    top = int(wanted[-1])
    if boxes is None:
        boxes = ndimage.find_objects(local, max_label=top)
    offsets = tuple(s.start for s in region)
    records = {}
    for object_id in wanted.tolist():
        local_box = boxes[object_id - 1]
        inside = local[local_box] == object_id
        first = np.unravel_index(int(np.argmax(inside.reshape(-1))), inside.shape)
        position = tuple(int(f + b.start + o) for f, b, o in zip(first, local_box, offsets, strict=True))
        box = tuple(slice(b.start + o, b.stop + o) for b, o in zip(local_box, offsets, strict=True))
        records[object_id] = ObjectRecord(class_index=int(classes[position]), voxels=int(np.count_nonzero(inside)),
                                          box=box, anchor=int(np.ravel_multi_index(position, labels.shape)))
    return records


def label_components(mask: np.ndarray, labels: dict, which: str, region: tuple[slice, ...],
                     within: np.ndarray | None, classes, struct: np.ndarray, next_id: int) -> tuple[list[int], int]:
    """Label the connected components of each class inside ``region`` into ``labels[which]``, new ids from
    ``next_id``.

    Parameters
    ----------
    mask : numpy.ndarray
        Whole-volume class labels.
    labels : dict
        ``{which: whole-volume ids}``; ``labels[which]`` is written inside ``region`` where a component is
        found, after being widened (:func:`make_room`) when the new ids need it.
    which : str
    region : tuple of slice
    within : numpy.ndarray of bool or None
        Region-shaped: only these voxels take part (None: all of the region).
    classes : iterable of int
        Classes to label.
    struct : numpy.ndarray
        From :func:`structure`.
    next_id : int
        First id to give.

    Returns
    -------
    (list of int, int)
        The new ids and the next free id.
    """
    local_mask = mask[region]
    new_ids = []
    for class_index in classes:
        present = local_mask == class_index
        if within is not None:
            present &= within
        components, count = ndimage.label(present, structure=struct)
        if count == 0:
            continue
        local_labels = make_room(labels, which, next_id + count - 1)[region]
        np.add(local_labels, components + np.int32(next_id - 1), out=local_labels, where=components > 0,
               casting="unsafe")   # in range: make_room widened the ids when needed
        new_ids.extend(range(next_id, next_id + count))
        next_id += count
    return new_ids, next_id


def overlaps_in(target: np.ndarray, preds: np.ndarray, target_labels: np.ndarray, preds_labels: np.ndarray,
                region: tuple[slice, ...], within: np.ndarray | None = None) -> dict[tuple[int, int], int]:
    """Voxel counts of every (ground-truth id, predicted id) pair of the same class inside ``region``
    (only at ``within``, a region-shaped bool mask, when given)."""
    gt_ids, pred_ids = target_labels[region], preds_labels[region]
    shared = (gt_ids > 0) & (pred_ids > 0) & (target[region] == preds[region])
    if within is not None:
        shared &= within
    if not shared.any():
        return {}
    keys = gt_ids[shared].astype(np.int64) << 32 | pred_ids[shared].astype(np.int64)
    unique, counts = np.unique(keys, return_counts=True)
    return {(int(k >> 32), int(k & 0xFFFFFFFF)): int(n) for k, n in zip(unique.tolist(), counts.tolist(), strict=True)}


BLOCK = 8
"""Edge in voxels of the blocks :func:`occupied_clusters` groups the volume into."""


def occupied_clusters(target: np.ndarray, preds: np.ndarray, block: int = BLOCK):
    """The clusters of touching blocks holding a foreground voxel of either mask.

    Yields
    ------
    (tuple of slice, numpy.ndarray)
        A cluster's bounding box in voxels, and a bool mask of that box: True in the cluster's blocks.
    """
    if target.size == 0:
        return
    occupied = (_block_max(target, block) > 0) | (_block_max(preds, block) > 0)
    clusters, _ = ndimage.label(occupied, structure=ndimage.generate_binary_structure(target.ndim, target.ndim))
    for number, block_box in enumerate(ndimage.find_objects(clusters), start=1):
        region = tuple(slice(b.start * block, min(b.stop * block, size))
                       for b, size in zip(block_box, target.shape, strict=True))
        within = clusters[block_box] == number
        for axis in range(target.ndim):
            within = np.repeat(within, block, axis=axis)
        yield region, within[tuple(slice(0, r.stop - r.start) for r in region)]


def _block_max(mask: np.ndarray, block: int) -> np.ndarray:
    """The largest label in each block of ``block`` voxels per axis (the last block of an axis may be shorter)."""
    for axis in range(mask.ndim):
        moved = np.moveaxis(mask, axis, 0)
        full = moved.shape[0] // block * block
        parts = [moved[:full].reshape(full // block, block, *moved.shape[1:]).max(axis=1)] if full else []
        if full < moved.shape[0]:
            parts.append(moved[full:].max(axis=0, keepdims=True))
        mask = np.moveaxis(np.concatenate(parts), 0, axis)
    return mask


class ObjectTables:
    """Label arrays, records and same-class overlaps of both masks (see the module docstring).

    Build with :meth:`lesions` or :meth:`instances`; :class:`dice_engine.LiveObjects` updates one in place.

    Attributes
    ----------
    masks : dict
        ``{"gt": class labels, "pred": class labels}`` (whole volume).
    labels : dict
        ``{"gt": ids, "pred": ids}`` (:func:`id_dtype`).
    records : dict
        ``{"gt": {id: ObjectRecord}, "pred": {id: ObjectRecord}}``.
    overlaps : dict
        ``{(gt id, pred id): shared voxels}``, same-class pairs only.
    """

    def __init__(self, masks: dict, labels: dict, records: dict, overlaps: dict, next_ids: dict) -> None:
        self.masks, self.labels, self.records, self.overlaps, self.next_ids = masks, labels, records, overlaps, next_ids

    @classmethod
    def lesions(cls, target: np.ndarray, preds: np.ndarray, classes, struct: np.ndarray) -> ObjectTables:
        """Connected components of each class in ``classes`` of both masks.

        Only the occupied parts of the volume are labelled: blocks of :data:`BLOCK` voxels holding a
        foreground voxel of either mask are grouped into clusters of touching blocks, and every object
        lies in one cluster (its voxels are connected, so its blocks touch), so each cluster is
        labelled on its own, inside its bounding box and restricted to its blocks.
        """
        masks = {"gt": target, "pred": preds}
        # np.full writes every page now: np.zeros maps pages lazily, and the scattered first writes of the
        # clusters then cost one page fault per touched row (twice the CPU time on the benchmark case).
        labels = {which: np.full(mask.shape, 0, dtype=ID_DTYPES[0]) for which, mask in masks.items()}
        records: dict = {"gt": {}, "pred": {}}
        next_ids = {"gt": 1, "pred": 1}
        overlaps: dict = {}
        wanted = np.asarray(list(classes), dtype=np.int64)
        for region, within in occupied_clusters(target, preds):
            for which, mask in masks.items():
                present = np.unique(mask[region][within])
                found, next_ids[which] = label_components(mask, labels, which, region, within,
                                                          np.intersect1d(present, wanted).tolist(), struct,
                                                          next_ids[which])
                records[which].update(records_of(labels[which], mask, found, region))
            overlaps.update(overlaps_in(target, preds, labels["gt"], labels["pred"], region, within))
        return cls(masks, labels, records, overlaps, next_ids)

    @classmethod
    def instances(cls, target: np.ndarray, preds: np.ndarray, classes: dict | None = None) -> ObjectTables:
        """Each non-zero id of an instance image is one object: of class 1, or with ``classes``
        (``{"gt": class map, "pred": class map}`` from :func:`dice_engine.instance_classes.majority_classes`:
        each instance's voxels hold its class) of the class given there."""
        labels, masks, records = {}, {}, {}
        everything = tuple(slice(0, n) for n in target.shape)
        for which, ids in (("gt", target), ("pred", preds)):
            largest = int(ids.max()) if ids.size else 0
            if largest > np.iinfo(np.int32).max:
                raise ValueError(f"{which}: instance ids above 2**31 - 1 are not supported")
            labels[which] = ids.astype(id_dtype(largest))
            masks[which] = np.greater(ids, 0).view(np.uint8) if classes is None else classes[which]
            boxes = ndimage.find_objects(labels[which])   # None for ids not present
            present = [number for number, box in enumerate(boxes, start=1) if box is not None]
            records[which] = records_of(labels[which], masks[which], present, everything, boxes)
        overlaps = overlaps_in(masks["gt"], masks["pred"], labels["gt"], labels["pred"], everything)
        next_ids = {which: int(labels[which].max(initial=0)) + 1 for which in labels}
        return cls(masks, labels, records, overlaps, next_ids)
