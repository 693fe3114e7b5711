"""The class of each instance, given by a separate semantic mask: :func:`majority_classes`.

In instance mode with a semantic mask (docs/architecture.md §5a) every instance id is one object of the
class that most of its voxels have in the semantic mask of the same image: the most frequent
**non-zero** semantic label inside the instance; a tie goes to the smallest label. Semantic background
inside an instance does not vote. An instance lying entirely on semantic background has no class and
is refused (:class:`UnclassifiedInstance`), so no object is silently dropped.

:class:`InstanceClassCounts` keeps the same classes through edits without a full recount (voxels per id and
class), for :class:`dice_engine.live_objects.LiveObjects` and the window's edit translation
(docs/architecture.md §5d).
"""

from __future__ import annotations

import numpy as np

__all__ = ["InstanceClassCounts", "UnclassifiedInstance", "majority_classes"]


class UnclassifiedInstance(ValueError):
    """An instance whose voxels are all background in the semantic mask.

    Attributes
    ----------
    instance_id : int
        The first such id (smallest).
    count : int
        How many instances of the image have no class.
    """

    def __init__(self, which: str, instance_id: int, count: int) -> None:
        self.which, self.instance_id, self.count = which, instance_id, count
        super().__init__(f"{which}: {count} instance(s) lie entirely on background of the semantic mask "
                         f"(the first is id {instance_id}), so they have no class")


def majority_classes(ids: np.ndarray, semantic: np.ndarray, which: str = "gt") -> np.ndarray:
    """Paint every instance with its majority semantic class.

    Parameters
    ----------
    ids : numpy.ndarray
        Instance ids, any integer dtype, any shape; 0 = no instance.
    semantic : numpy.ndarray
        Class labels (>= 0) of the same shape.
    which : str
        How errors name the image (``"gt"`` or ``"pred"``).

    Returns
    -------
    numpy.ndarray
        ``ids.shape``, ``semantic``'s dtype: each instance's voxels hold its class (the most frequent
        non-zero label of ``semantic`` inside it, ties to the smallest), 0 outside instances.

    Raises
    ------
    ValueError
        Shapes differ, or a semantic label is negative.
    UnclassifiedInstance
        An instance holds no non-zero semantic voxel.
    """
    if ids.shape != semantic.shape:
        raise ValueError(f"{which}: the semantic mask has shape {semantic.shape}, the instance image {ids.shape}")
    out = np.zeros(semantic.shape, dtype=semantic.dtype)
    inside = ids > 0
    if not inside.any():
        return out
    instance_ids = ids[inside]
    labels = semantic[inside].astype(np.int64)
    if int(labels.min()) < 0:
        raise ValueError(f"{which}: semantic labels must be >= 0")
    present, position = np.unique(instance_ids, return_inverse=True)
    span = int(labels.max()) + 1
    voted = labels > 0
    keys, votes = np.unique(position[voted].astype(np.int64) * span + labels[voted], return_counts=True)
    owner, label = keys // span, keys % span
    # Per instance: most votes first, then the smallest label; the first row of each instance wins.
    order = np.lexsort((label, -votes, owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]] if order.size else order
    winner = np.zeros(present.size, dtype=np.int64)
    classified = np.zeros(present.size, dtype=bool)
    winner[owner[first]] = label[first]
    classified[owner[first]] = True
    if not classified.all():
        missing = present[~classified]
        raise UnclassifiedInstance(which, int(missing[0]), int(missing.size))
    out[inside] = winner[position].astype(semantic.dtype)
    return out


MAX_TABLE_ENTRIES = 2**24
"""Largest (highest id + 1) x classes table (128 MB of int64)."""
CHUNK_VOXELS = 2**22
"""Voxels counted per step when a table is built, so the int64 working copy stays small."""


class InstanceClassCounts:
    """``counts[k, c]``: voxels of instance ``k`` with semantic class ``c``.

    Parameters
    ----------
    ids : numpy.ndarray
        Instance ids (>= 0), any shape.
    semantic : numpy.ndarray
        Classes ``0 .. num_classes - 1`` of the same voxels.
    num_classes : int

    Raises
    ------
    ValueError
        Ids too high for a table of :data:`MAX_TABLE_ENTRIES` entries.
    """

    def __init__(self, ids: np.ndarray, semantic: np.ndarray, num_classes: int) -> None:
        self.num_classes = int(num_classes)
        rows = int(ids.max(initial=0)) + 1
        self._check(rows)
        flat_ids, flat_classes = ids.reshape(-1), semantic.reshape(-1)
        counts = np.zeros(rows * self.num_classes, dtype=np.int64)
        for start in range(0, flat_ids.size, CHUNK_VOXELS):
            pairs = (flat_ids[start:start + CHUNK_VOXELS].astype(np.int64) * self.num_classes
                     + flat_classes[start:start + CHUNK_VOXELS])
            counts += np.bincount(pairs, minlength=counts.size)
        self.counts = counts.reshape(rows, self.num_classes)

    def classes_of(self, ids: np.ndarray) -> np.ndarray:
        """``int64`` class of each id: its most frequent non-zero class (ties: the smaller), 0 without one."""
        ids = np.asarray(ids, dtype=np.int64)
        classes = np.zeros(ids.shape, dtype=np.int64)
        known = ids < self.counts.shape[0]
        if known.any():
            rows = self.counts[ids[known], 1:]
            classes[known] = np.where(rows.any(axis=1), rows.argmax(axis=1) + 1, 0)
        return classes

    def move(self, old_ids: np.ndarray, old_classes: np.ndarray, new_ids: np.ndarray, new_classes: np.ndarray) -> None:
        """Voxels changed from (``old_ids``, ``old_classes``) to (``new_ids``, ``new_classes``) (flat arrays)."""
        rows = int(max(old_ids.max(initial=0), new_ids.max(initial=0))) + 1
        if rows > self.counts.shape[0]:
            self._check(rows)
            grown = np.zeros((rows, self.num_classes), dtype=np.int64)
            grown[:self.counts.shape[0]] = self.counts
            self.counts = grown
        flat = self.counts.reshape(-1)
        np.subtract.at(flat, old_ids.astype(np.int64) * self.num_classes + old_classes.astype(np.int64), 1)
        np.add.at(flat, new_ids.astype(np.int64) * self.num_classes + new_classes.astype(np.int64), 1)

    def _check(self, rows: int) -> None:
        if rows * self.num_classes > MAX_TABLE_ENTRIES:
            raise ValueError(f"instance id {rows - 1} is too high to follow its semantic class "
                             f"(at most {MAX_TABLE_ENTRIES // self.num_classes - 1} with {self.num_classes} classes)")
