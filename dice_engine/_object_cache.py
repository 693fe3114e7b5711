"""What object scoring can keep between two calls on the same tables: :class:`ObjectScoreCache`.

:func:`dice_engine.objects.scores_from_tables` describes every kept object (centroid, largest slices,
face-boundary points), measures the distance from each object that overlaps nothing to the nearest
object of the other mask of its class, and builds one :class:`~dice_engine.objects.ClassObjects` per
class. In :class:`dice_engine.LiveObjects` an edit changes only a few objects and classes, so the cache
keeps, per object id, its geometry, its :class:`~dice_engine.objects.SegmentObject` and its nearest
distance (with the object that gave it); per pair of objects, their distance; and per class, its result.
``LiveObjects.apply_edit`` calls :meth:`ObjectScoreCache.forget` with the ids it removed or rewrote and
the classes it touched; everything else stays valid (docs/architecture.md §5a–§5c). Memory: the
face-boundary points (and, once searched, a k-d tree) of every object described, about
:data:`BOUNDARY_VOXEL_BYTES` per boundary voxel in 3D; :func:`face_boundary_voxels` counts those voxels
from a mask before anything is built, for the memory budget (``app/io/limits.py``).

Distances are found pair by pair, the same way with and without a cache, so a kept value equals a
recomputed one exactly: the distance from object X to a group is the minimum over the group's objects
Y of the pair distance (smallest distance between the two sets of face-boundary voxel centres, a k-d
tree query; the minimum over a group does not depend on the order). The objects Y are visited by the
lower bound their bounding boxes give, nearest first, and the search stops when no unvisited box can be
nearer.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from dice_engine._object_details import boundary_points_mm, centroid, largest_slices, object_voxels

BOUNDARY_VOXEL_BYTES = 65
"""Bytes the cache keeps per face-boundary voxel of a described object (3D): its centre in mm (24, three
float64) and, once the object is searched for a nearest distance, its k-d tree (``cKDTree``: 20-30 bytes a
point measured for objects of 300 points and more, more for objects of a few voxels)."""
SLAB_VOXELS = 1 << 21
"""Voxels per slab of :func:`face_boundary_voxels` (its temporary arrays stay a few MB)."""
PRUNE_MARGIN = 1e-9
"""Relative margin on the box bound: a box is skipped only when its bound exceeds the best distance by more
than this (the bound and the k-d tree round differently)."""


class ObjectScoreCache:
    """Per-object geometry, descriptions and nearest distances, pair distances and per-class results of one
    :class:`~dice_engine._object_tables.ObjectTables` (module docstring).

    Everything is keyed by the settings it was computed with (:meth:`use_settings`); other settings
    clear it. Ids are the tables' object ids: an id whose object changes must be :meth:`forget`-ed.
    """

    def __init__(self) -> None:
        self._settings: tuple | None = None
        self._geometry: dict[tuple[str, int], dict] = {}
        self._pairs: dict[tuple[int, int], float] = {}
        self._described: dict[tuple[str, int], tuple] = {}
        self._nearest: dict[tuple[str, int], tuple] = {}
        self._born: dict[tuple[str, int], int] = {}
        self._clock = 0
        self.class_results: dict[int, object] = {}

    def use_settings(self, key: tuple) -> None:
        """Keep the cache when ``key`` (spacing, affine, τ, min size…) is unchanged, else clear it."""
        if key != self._settings:
            self._settings = key
            self._geometry.clear()
            self._pairs.clear()
            self._described.clear()
            self._nearest.clear()
            self._born.clear()
            self.class_results.clear()

    def forget(self, which: str, ids, classes) -> None:
        """Drop what depends on the objects ``ids`` of mask ``which`` and the results of ``classes``."""
        gone = {int(i) for i in ids}
        for object_id in gone:
            self._geometry.pop((which, object_id), None)
            self._described.pop((which, object_id), None)
            self._nearest.pop((which, object_id), None)
            self._born.pop((which, object_id), None)   # seen again, it is new (instance ids are reused)
        if gone:
            side = 0 if which == "gt" else 1
            self._pairs = {pair: d for pair, d in self._pairs.items() if pair[side] not in gone}
        for class_index in classes:
            self.class_results.pop(int(class_index), None)

    def geometry(self, tables, which: str, object_id: int, spacing: np.ndarray) -> dict:
        """Centroid (voxel), largest slice per axis and face-boundary points in mm (``(K, ndim)``) of one
        object, computed once."""
        key = (which, int(object_id))
        found = self._geometry.get(key)
        if found is None:
            record = tables.records[which][object_id]
            inside = object_voxels(tables.labels[which], record.box, object_id)
            found = {"centroid": centroid(inside, record.box), "largest": largest_slices(inside, record.box),
                     "boundary": boundary_points_mm(inside, record.box, spacing), "tree": None}
            self._geometry[key] = found
        return found

    def described(self, which: str, object_id: int, figures: tuple):
        """The object's :class:`~dice_engine.objects.SegmentObject` kept with these ``figures`` (status, IoU,
        match, distance), or None when it has none or it was kept with other figures."""
        found = self._described.get((which, int(object_id)))
        return found[1] if found is not None and found[0] == figures else None

    def keep_described(self, which: str, object_id: int, figures: tuple, item) -> None:
        """Keep ``item``, the object's description with ``figures``, for :meth:`described`."""
        self._described[(which, int(object_id))] = (figures, item)

    def births(self, which: str, ids: list[int]) -> np.ndarray:
        """When each object ``ids`` of ``which`` was first seen as it is now (a counter; ``(len(ids),)`` int64):
        an object not seen since it was created or last changed is born now."""
        born = []
        for object_id in ids:
            key = (which, object_id)
            if key not in self._born:
                self._clock += 1
                self._born[key] = self._clock
            born.append(self._born[key])
        return np.asarray(born, dtype=np.int64)

    def nearest_mm(self, tables, which: str, object_id: int, other_ids: list[int], other_boxes: np.ndarray,
                   other_births: np.ndarray, spacing: np.ndarray) -> float:
        """Smallest distance in mm from object ``object_id`` of ``which`` to the objects ``other_ids`` of the
        other mask; NaN when there are none.

        ``other_boxes`` and ``other_births`` are :func:`box_corners` and :meth:`births` of ``other_ids``. The
        last answer is kept with the time it was measured and the object that gave it: while that object is
        still in the group, unchanged, only the objects born since are measured (the minimum over the
        others is unchanged, and objects that left the group only raise it).
        """
        if not other_ids:
            return float("nan")
        other = "pred" if which == "gt" else "gt"
        kept = self._nearest.get((which, object_id))
        partner_born = None if kept is None else self._born.get((other, kept[1]))
        if kept is not None and partner_born is not None and partner_born <= kept[2] and kept[1] in other_ids:
            best, partner, measured = kept
            positions = np.flatnonzero(other_births > measured)
        else:
            best, partner, positions = float("inf"), None, np.arange(len(other_ids))
        if positions.size:
            low, high = box_corners(tables, which, [object_id])[0]
            boxes = other_boxes[positions]
            gaps = np.maximum(0, np.maximum(boxes[:, 0] - high, low - boxes[:, 1])) * spacing
            bounds = np.sqrt(np.sum(gaps * gaps, axis=1))
            for k in np.argsort(bounds, kind="stable").tolist():
                if bounds[k] > best * (1 + PRUNE_MARGIN):
                    break
                candidate = other_ids[int(positions[k])]
                distance = self._pair_mm(tables, which, object_id, other, candidate, spacing)
                if distance < best:
                    best, partner = distance, candidate
        self._nearest[(which, object_id)] = (best, partner, self._clock)
        return best

    def _pair_mm(self, tables, which: str, object_id: int, other: str, other_id: int, spacing: np.ndarray) -> float:
        """Distance between two objects of different masks (cached; the same value from either side)."""
        pair = (object_id, other_id) if which == "gt" else (other_id, object_id)
        distance = self._pairs.get(pair)
        if distance is None:
            points = self.geometry(tables, which, object_id, spacing)["boundary"]
            partner = self.geometry(tables, other, other_id, spacing)
            if partner["tree"] is None:
                partner["tree"] = cKDTree(partner["boundary"])
            distance = float(np.min(partner["tree"].query(points, k=1)[0]))
            self._pairs[pair] = distance
        return distance


def box_corners(tables, which: str, ids: list[int]) -> np.ndarray:
    """First and last voxel index of the bounding boxes of objects ``ids`` of ``which``: ``(len(ids), 2, ndim)``
    int64."""
    ndim = tables.labels[which].ndim
    corners = np.array([[(s.start, s.stop - 1) for s in tables.records[which][i].box] for i in ids], dtype=np.int64)
    return corners.reshape(len(ids), ndim, 2).transpose(0, 2, 1)


def face_boundary_voxels(labels: np.ndarray) -> int:
    """How many voxels of ``labels`` are face-boundary voxels of an object, as the cache stores them.

    A non-zero voxel is on its object's face boundary when a face neighbour holds another value or lies
    outside the volume. Whether the values are class labels (lesion mode: face neighbours of one class
    belong to one component under every connectivity) or instance ids, that is the voxel set
    :func:`dice_engine._object_details.boundary_points_mm` returns, object by object, so the count is the
    number of points the cache keeps once every object is described (fewer with a minimum size).

    Parameters
    ----------
    labels : numpy.ndarray
        Label map or instance image, any integer dtype, any number of dimensions.

    Returns
    -------
    int
        Counted slab by slab along the first axis (:data:`SLAB_VOXELS`), so the temporary arrays stay small.
    """
    labels = np.asarray(labels)
    if labels.ndim == 0 or labels.size == 0:
        return 0
    depth = labels.shape[0]
    step = max(1, SLAB_VOXELS // max(1, labels[0].size))
    total = 0
    for start in range(0, depth, step):
        stop = min(start + step, depth)
        core = labels[start:stop]
        edge = np.zeros(core.shape, dtype=bool)
        # across the slab's first and last slice: the neighbouring slab, or the volume's edge
        for at, neighbour in ((0, start - 1), (stop - start - 1, stop)):
            if 0 <= neighbour < depth:
                edge[at] |= labels[neighbour] != core[at]
            else:
                edge[at] = True
        for axis in range(core.ndim):
            length = core.shape[axis]
            if axis > 0:
                edge[(slice(None),) * axis + (0,)] = True
                edge[(slice(None),) * axis + (length - 1,)] = True
            if length > 1:
                head = (slice(None),) * axis + (slice(1, None),)
                tail = (slice(None),) * axis + (slice(None, -1),)
                differs = core[head] != core[tail]
                edge[head] |= differs
                edge[tail] |= differs
        edge &= core != 0
        total += int(np.count_nonzero(edge))
    return total
