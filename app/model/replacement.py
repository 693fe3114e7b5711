"""A whole mask replaced by given labels, prepared off the GUI thread and written on it in one short step.

A threshold step (docs/architecture.md §8a) makes the prediction equal to labels derived from the model
output. Finding the voxels that change means comparing the whole volume (0.3-1 s for 300×512×512 under
load); :func:`prepare_replacement` does that, and everything else that only reads (the step's voxels, its
box, the delta's before/after boxes), in a job of the soft lane. The GUI thread then only writes the
changed voxels (:meth:`app.model.edit_session.EditSession.apply_replacement`).

The preparation reads the mask the GUI thread edits. It is exact because the mask is not written
while it runs (the window holds edits while a threshold step is pending, :mod:`app.qt.edit_bridge`),
and that is checked, not assumed: a :class:`Replacement` carries the mask's revision it was prepared
against, and the session compares again, on its own thread, when the mask changed since.

Undoing or redoing such a step needs the delta's before/after boxes, which span the volume (two copies of
it, ~90 ms of the ~135 ms an undo took at 300×512×512). The session keeps the prepared boxes of the newest
replacement of each mask (:class:`KeptBoxes`) and hands them out again when the mask is in the very state
they describe (by the history's state id), so undo and redo of that step only write the changed voxels.
Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.model.delta import check_which, frozen_copy
from app.model.history import Step, make_step


@dataclass(frozen=True)
class Replacement:
    """Mask ``which`` made equal to ``values``: the changed voxels, found against revision ``revision``.

    Attributes
    ----------
    which : {"pred", "gt"}
        The mask replaced.
    values : np.ndarray
        ``(z, y, x)`` integer labels the mask is to equal (read-only).
    revision : int
        :meth:`~app.model.edit_session.EditSession.revision` of the mask the voxels were found against.
    step : Step or None
        The changed voxels (flat indices ascending, old and new labels, their box) with id 0 (the session
        numbers it); None when nothing differs.
    old_box : np.ndarray or None
        The mask's labels in ``step.region`` before the change (read-only copy); None with ``step``.
    labels : tuple of int
        Every label a changed voxel had before or has after, ascending (:func:`changed_labels`).
    """

    which: str
    values: np.ndarray
    revision: int
    step: Step | None
    old_box: np.ndarray | None
    labels: tuple = ()

    @property
    def new_box(self) -> np.ndarray | None:
        """The mask's labels in ``step.region`` after the change: ``values`` there (read-only)."""
        return None if self.step is None else self.values[self.step.region]


def prepare_replacement(mask: np.ndarray, values, which: str, revision: int, num_classes: int,
                        description: str = "") -> Replacement:
    """Find what making ``mask`` equal to ``values`` changes; nothing is written.

    Parameters
    ----------
    mask : np.ndarray
        ``(z, y, x)`` integer labels now (the session's mask; not written while this runs).
    values : array_like
        ``(z, y, x)`` integer labels of the same shape, each in ``0..num_classes-1`` where it differs.
    which : {"pred", "gt"}
    revision : int
        The mask's revision now (:meth:`~app.model.edit_session.EditSession.revision`).
    num_classes : int
        ``C``: labels must be below it.
    description : str
        The step's description.

    Raises
    ------
    ValueError
        ``values`` is not an integer array of the mask's shape, or a changed label lies outside ``0..C-1``.
    """
    check_which(which)
    values = np.asarray(values)
    if values.shape != mask.shape or values.dtype.kind not in "iu":
        raise ValueError(f"replacement labels must be a {mask.shape} integer array, got {values.shape} {values.dtype}")
    indices = np.flatnonzero(mask != values)
    new_values = values.reshape(-1)[indices]
    if indices.size and (int(new_values.min()) < 0 or int(new_values.max()) >= num_classes
                         or int(new_values.max()) > np.iinfo(mask.dtype).max):
        raise ValueError(f"replacement labels must lie in 0..{num_classes - 1} and fit the mask's {mask.dtype}")
    if values.dtype != mask.dtype or values.flags.writeable:   # the labels after, as the mask holds them
        values = values.astype(mask.dtype)   # a copy nobody else holds
        values.setflags(write=False)
    if indices.size == 0:
        return Replacement(which, values, int(revision), None, None)
    step = make_step(0, which, mask.shape, indices, mask.reshape(-1)[indices], new_values.astype(mask.dtype),
                     description)
    return Replacement(which, values, int(revision), step, frozen_copy(mask[step.region]), changed_labels(step))


def changed_labels(step: Step) -> tuple:
    """Every label that a voxel of ``step`` had before or has after, ascending: a listener that updates per
    class (surface distances) needs no comparison of the step's volume-sized boxes (``O(N)`` in the step's
    ``N`` voxels, one bincount each)."""
    counts = np.bincount(step.old_values.astype(np.int64, copy=False))
    after = np.bincount(step.new_values.astype(np.int64, copy=False))
    size = max(counts.size, after.size)
    counts = np.pad(counts, (0, size - counts.size)) + np.pad(after, (0, size - after.size))
    return tuple(int(label) for label in np.flatnonzero(counts))


@dataclass(frozen=True)
class KeptBoxes:
    """The before/after boxes of a written replacement step, for its undo and redo without copying the mask.

    Attributes
    ----------
    step_id : int
        The step's id (the session numbered it).
    before_state : int or None
        :meth:`~app.model.history.History.state_id` of the mask just before the step (its state after is
        ``step_id``).
    before, after : np.ndarray
        The mask's labels in the step's region before and after the step (read-only).
    labels : tuple of int
        The step's :func:`changed_labels`.
    nbytes : int
        Memory the two boxes hold.
    """

    step_id: int
    before_state: int | None
    before: np.ndarray
    after: np.ndarray
    labels: tuple = ()

    @classmethod
    def of(cls, step_id: int, before_state: int | None, replacement: Replacement) -> KeptBoxes:
        """The boxes of ``replacement`` (with a step), written as step ``step_id`` from state ``before_state``."""
        return cls(int(step_id), before_state, replacement.old_box, replacement.new_box, replacement.labels)

    @property
    def nbytes(self) -> int:
        return int(self.before.nbytes + self.after.nbytes)

    def boxes_for(self, step: Step, kind: str, state_now: int | None) -> tuple[np.ndarray, np.ndarray] | None:
        """``(old, new)`` boxes of the delta that undoing (``kind`` "undo") or redoing ("redo") ``step`` makes,
        when the mask is now in the state they describe (``state_now``: its state id before the undo/redo);
        else None. Equal state ids mean equal mask contents (:meth:`~app.model.history.History.state_id`)."""
        if step.id != self.step_id:
            return None
        if kind == "undo" and state_now == self.step_id:
            return self.after, self.before
        if kind == "redo" and state_now == self.before_state:
            return self.before, self.after
        return None
