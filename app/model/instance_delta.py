"""Instance edits as edits of the voxel case that ``score --instances`` scores (docs/architecture.md §5d).

With ``view --instances`` the user paints instance ids, while the voxel lanes (Dice table, confusion
matrix, per-slice counts, surface distances) score foreground against background, or, with semantic
masks, the semantic classes. Every instance edit (a :class:`~app.model.delta.Delta` of ids) is translated
here into the matching edit of the voxel case, exactly and per delta:

- **foreground** (:func:`foreground_delta`): a voxel is foreground when its id is not 0. Derived from the
  delta alone, so no second copy of the masks is kept.
- **semantic classes** (:class:`SemanticTranslation`): the semantic masks are the voxel case; the
  translation keeps working copies of them (inputs are never written over) and writes each edit's classes:
  a voxel given id 0 becomes background (0); a voxel given an id ``k > 0`` takes the class of ``k`` as it
  was before the edit (the most frequent non-zero class among ``k``'s voxels, a tie going to the smaller
  class: ``score``'s rule, :data:`app.object_scoring.INSTANCE_CLASSES`), or, when ``k`` has no voxel of a
  non-zero class yet (a new instance), the class chosen for new instances (the window: the class selected
  in the Dice table). Voxels the edit leaves unchanged keep their class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.errors import InputError
from app.model.delta import Delta


def foreground_values(values: np.ndarray) -> np.ndarray:
    """``uint8`` array of ``values``' shape: 1 where the instance id is not 0, else 0."""
    return (np.asarray(values) != 0).view(np.uint8)


def foreground_delta(delta: Delta) -> Delta:
    """The foreground-vs-background edit of an instance edit.

    Parameters
    ----------
    delta : Delta
        An edit of instance ids (``old_values`` / ``new_values`` of the region's shape, any integer dtype).

    Returns
    -------
    Delta
        Same mask, region and kind; ``old_values`` / ``new_values`` read-only ``uint8`` (0/1) of the
        region's shape. An id changed into another non-zero id is no change here.
    """
    return Delta(delta.which, delta.region, _frozen(foreground_values(delta.old_values)),
                 _frozen(foreground_values(delta.new_values)), delta.kind)


@dataclass(frozen=True)
class InstanceEdit:
    """An instance edit with the classes its translation gave (for the objects lane with semantic masks).

    Attributes
    ----------
    which : {"gt", "pred"}
    region : tuple of slice
    new_values : numpy.ndarray
        The region's new instance ids (read-only).
    semantic_values : numpy.ndarray
        The region's new semantic classes (read-only), the same shape.
    """

    which: str
    region: tuple
    new_values: np.ndarray
    semantic_values: np.ndarray


class SemanticTranslation:
    """Instance edits translated into edits of the semantic masks (the voxel case of semantic instance mode).

    Parameters
    ----------
    instances : dict of str to numpy.ndarray
        ``{"gt": ids, "pred": ids}``, ``(z, y, x)``: the instance masks as they are now (edits follow as deltas).
    semantic : dict of str to numpy.ndarray
        ``{"gt": classes, "pred": classes}`` on the same grid: taken over as the working copies that edits
        write (pass arrays nothing else holds, never the inputs' own buffers kept elsewhere).
    num_classes : int
        ``C``: classes ``0 .. C - 1`` (0 background).
    new_instance_class : callable
        ``() -> int``: the class of voxels given an id that has no voxel of a non-zero class yet.

    Raises
    ------
    InputError
        An instance lying entirely on semantic background (it has no class; ``score`` refuses it too), or
        ids too high to count (:data:`dice_engine.instance_classes.MAX_TABLE_ENTRIES`).

    Attributes
    ----------
    masks : dict of str to numpy.ndarray
        The semantic working copies, kept equal to the translation of every edit so far.
    tables : dict of str to dice_engine.instance_classes.InstanceClassCounts
        Voxels per (id, class) of each mask, kept through edits: the class of an id.
    """

    def __init__(self, instances: dict[str, np.ndarray], semantic: dict[str, np.ndarray], num_classes: int,
                 new_instance_class: Callable[[], int]) -> None:
        self.num_classes = int(num_classes)
        self.new_instance_class = new_instance_class
        self.masks = {which: semantic[which] for which in ("gt", "pred")}
        self.recount(instances)
        for which, table in self.tables.items():
            present = table.counts.sum(axis=1) > 0
            present[0] = False
            lonely = np.flatnonzero(present & ~table.counts[:, 1:].any(axis=1))
            if lonely.size:
                option, image = ("--semantic-gt", "--gt") if which == "gt" else ("--semantic-pred", "--pred")
                raise InputError(f"{option}: {lonely.size} instance(s) of {image} lie entirely on background of the "
                                 f"semantic mask (the first is instance id {int(lonely[0])}), so they have no class. "
                                 f"Give the semantic mask of the same image, or leave out --semantic-gt / "
                                 f"--semantic-pred to score every instance as one class.")

    def recount(self, instances: dict[str, np.ndarray]) -> None:
        """Count the classes of the ids from ``instances`` (the instance masks that :attr:`masks` classify)."""
        from dice_engine.instance_classes import InstanceClassCounts  # semantic mode only: torch is loaded

        try:
            self.tables = {which: InstanceClassCounts(instances[which], self.masks[which], self.num_classes)
                           for which in ("gt", "pred")}
        except ValueError as error:
            raise InputError(f"{error}; renumber the instance ids consecutively "
                             "(e.g. skimage.segmentation.relabel_sequential).") from None

    def translate(self, delta: Delta) -> Delta:
        """The semantic edit of instance edit ``delta``; also written into :attr:`masks`.

        Returns
        -------
        Delta
            Same mask, region and kind; ``old_values`` / ``new_values`` read-only classes of the region, in
            the semantic mask's dtype.
        """
        mask = self.masks[delta.which]
        old_classes = np.array(mask[delta.region], copy=True)
        new_classes = self._classes_given(delta.which, delta.old_values, delta.new_values, old_classes)
        mask[delta.region] = new_classes
        return Delta(delta.which, delta.region, _frozen(old_classes), _frozen(new_classes), delta.kind)

    def replay(self, records) -> None:
        """Translate the id edits of journal records recovered after a crash, in order, as :meth:`translate`
        translated them when they were painted: the masks and class counts end as they were then.

        Parameters
        ----------
        records : list of app.model.journal.JournalRecord
            The records replayed into the instance masks (``indices`` ``(N,)`` flat, ``old_values`` /
            ``new_values`` ``(N,)`` ids), from the instance masks as read. A record's ``new_instance_class``
            is the class new instances took when it was written; a record without one (a journal written
            before it was recorded) takes :attr:`new_instance_class` now.
        """
        for record in records:
            if record.kind == "clear_redo":
                continue
            mask = self.masks[record.which]
            old_classes = mask.flat[record.indices]
            mask.flat[record.indices] = self._classes_given(record.which, record.old_values, record.new_values,
                                                            old_classes, record.new_instance_class)

    def _classes_given(self, which: str, old_ids: np.ndarray, new_ids: np.ndarray, old_classes: np.ndarray,
                       recorded_class: int | None = None) -> np.ndarray:
        """The classes of voxels whose ids go from ``old_ids`` to ``new_ids`` (any same shape), now of classes
        ``old_classes``; the class counts of ``which`` are moved accordingly. A new instance takes
        ``recorded_class``, or when None :attr:`new_instance_class`. Returns a new array."""
        table = self.tables[which]
        changed = old_ids != new_ids
        given_ids = new_ids[changed]
        classes = table.classes_of(given_ids)
        unclassed = (given_ids != 0) & (classes == 0)
        if unclassed.any():
            chosen = int(self.new_instance_class() if recorded_class is None else recorded_class)
            classes[unclassed] = chosen if 0 < chosen < self.num_classes else 1
        classes[given_ids == 0] = 0
        new_classes = old_classes.copy()
        new_classes[changed] = classes
        table.move(old_ids[changed], old_classes[changed].astype(np.int64), given_ids, classes)
        return new_classes


def _frozen(values: np.ndarray) -> np.ndarray:
    """``values`` made read-only (already a private array: no copy)."""
    values.setflags(write=False)
    return values
