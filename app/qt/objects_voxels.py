"""The voxels of the missed and false objects, cut out on the ``objects`` lane for the window's object key.

The window colours missed and false objects voxel by voxel and highlights the one chosen in the Objects
dock (:mod:`app.qt.objects_key`). The label volumes that say which voxel belongs to which object are
:class:`dice_engine.live_objects.LiveObjects`' and are touched only by the ``objects`` lane's jobs
(docs/architecture.md §4), so each reply of that lane carries, for every unmatched object, its bounding box
and a boolean mask of its voxels inside it (:class:`ObjectVoxels`), cut out right after the objects were
counted. The GUI thread then draws any slice of any plane from these small arrays with no pass over the
volume and no labelling. Qt-free (numpy only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_KEY_VOXELS = 32_000_000
"""At most this many box voxels (bytes) are cut out per reply, largest objects first; smaller objects past
the budget have no voxel key (their boxes are still outlined, :mod:`app.qt.objects_outline`)."""


@dataclass(frozen=True)
class ObjectVoxels:
    """One missed or false object's voxels.

    Attributes
    ----------
    mask : {"gt", "pred"}
        The mask the object belongs to (missed objects: "gt", false ones: "pred").
    status : {"missed", "false"}
    class_index : int
    anchor : tuple of int
        The object's first voxel in C order: its name (:class:`dice_engine.objects.SegmentObject`).
    box : tuple of (int, int)
        ``[start, stop)`` per array axis ``(z, y, x)``.
    inside : numpy.ndarray
        bool, the box's shape, read-only: True on the object's voxels.
    """

    mask: str
    status: str
    class_index: int
    anchor: tuple[int, ...]
    box: tuple[tuple[int, int], ...]
    inside: np.ndarray

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        """``(mask, anchor)``: names the object across replies (an edit that moves its first voxel renames it)."""
        return self.mask, self.anchor


def object_key(item) -> tuple[str, tuple[int, ...]]:
    """The :attr:`ObjectVoxels.key` of a :class:`dice_engine.objects.SegmentObject` (or an ObjectVoxels)."""
    return item.mask, tuple(item.anchor)


def unmatched_voxels(live, scores, budget: int = MAX_KEY_VOXELS) -> tuple[ObjectVoxels, ...]:
    """Cut out the voxels of every missed and false object of ``scores``, largest first, within ``budget``.

    Parameters
    ----------
    live : dice_engine.live_objects.LiveObjects
        The lane's objects, as counted for ``scores`` (read through :meth:`LiveObjects.object_mask`).
    scores : dice_engine.objects.ObjectScores
        Its latest scores.
    budget : int
        Most box voxels in all; an object whose box does not fit is skipped (a smaller one may still fit).

    Returns
    -------
    tuple of ObjectVoxels
        Largest objects first.
    """
    unmatched = sorted((o for c in scores.classes for o in (*c.missed, *c.false)),
                       key=lambda o: (-o.voxels, o.class_index, o.mask, o.anchor))
    result, left = [], int(budget)
    for item in unmatched:
        size = math.prod(hi - lo for lo, hi in item.box)
        if size > left:
            continue
        inside = live.object_mask(item.mask, item.anchor, item.box)
        inside.flags.writeable = False
        result.append(ObjectVoxels(item.mask, item.status, item.class_index, tuple(item.anchor),
                                   tuple(item.box), inside))
        left -= size
    return tuple(result)
