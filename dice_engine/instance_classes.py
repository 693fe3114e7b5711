"""The class of each instance, given by a separate semantic mask: :func:`majority_classes`.

In instance mode with a semantic mask (docs/architecture.md §5a) every instance id is one object of the
class that most of its voxels have in the semantic mask of the same image: the most frequent
**non-zero** semantic label inside the instance; a tie goes to the smallest label. Semantic background
inside an instance does not vote. An instance lying entirely on semantic background has no class and
is refused (:class:`UnclassifiedInstance`), so no object is silently dropped.
"""

from __future__ import annotations

import numpy as np

__all__ = ["UnclassifiedInstance", "majority_classes"]


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
