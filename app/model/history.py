"""Undo history: one step per stroke, stored as changed voxels, bounded by a memory budget.

A :class:`Step` keeps only the voxels a stroke changed (flat indices, old and new labels), never a
copy of the volume; :class:`History` holds the undo and redo stacks and drops the oldest steps when
their total size exceeds the budget. The history only stores steps: the edit session applies them
(and tells its listeners), so undo and redo go through the same path as painting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.model.brush import Region
from app.model.delta import check_which

DEFAULT_BUDGET_BYTES = 512 * 1024 * 1024
"""Default memory budget of the undo history: 512 MB (a setting)."""


@dataclass(frozen=True)
class Step:
    """The voxels one stroke (or fill, or polygon) changed in one mask.

    Attributes
    ----------
    id : int
        Unique within a case's editing (and its journal), increasing.
    which : {"pred", "gt"}
        The mask changed.
    indices : np.ndarray
        ``(N,)`` flat C-order indices into the ``(z, y, x)`` volume, ascending and unique
        (``uint32`` when the volume has fewer than 2**32 voxels, else ``int64``).
    old_values, new_values : np.ndarray
        ``(N,)`` labels before and after, the mask's dtype.
    region : tuple of 3 slice
        Bounding box of the changed voxels.
    description : str
        For people: ``"brush 3"``, ``"fill 2"``, ``"polygon 0"``...
    """

    id: int
    which: str
    indices: np.ndarray
    old_values: np.ndarray
    new_values: np.ndarray
    region: Region
    description: str = ""

    @property
    def nbytes(self) -> int:
        """Memory held by the step's arrays."""
        return int(self.indices.nbytes + self.old_values.nbytes + self.new_values.nbytes)

    @property
    def voxel_count(self) -> int:
        """``N``, the number of changed voxels."""
        return int(self.indices.size)


def make_step(step_id: int, which: str, shape_zyx: tuple[int, int, int], indices: np.ndarray,
              old_values: np.ndarray, new_values: np.ndarray, description: str = "") -> Step:
    """Build a :class:`Step` from changed voxels given in any order.

    Parameters
    ----------
    step_id : int
        The step's id.
    which : {"pred", "gt"}
    shape_zyx : tuple of 3 int
        Volume shape (for the bounding box and the index dtype).
    indices : np.ndarray
        ``(N,)`` flat C-order indices, N >= 1, each at most once.
    old_values, new_values : np.ndarray
        ``(N,)`` labels before and after, in the order of ``indices``.
    description : str
        For people.
    """
    check_which(which)
    indices = np.asarray(indices, dtype=np.int64).ravel()
    old_values, new_values = np.asarray(old_values).ravel(), np.asarray(new_values).ravel()
    if indices.size == 0 or not indices.size == old_values.size == new_values.size:
        raise ValueError(f"a step needs N >= 1 indices with N old and N new values, got {indices.size}, "
                         f"{old_values.size} and {new_values.size}")
    size = int(np.prod(shape_zyx))
    order = np.argsort(indices, kind="stable")
    indices, old_values, new_values = indices[order], old_values[order], new_values[order]
    if indices[0] < 0 or indices[-1] >= size or np.any(indices[1:] == indices[:-1]):
        raise ValueError(f"step indices must be unique and inside the volume of {size} voxels")
    index_dtype = np.uint32 if size <= np.iinfo(np.uint32).max else np.int64
    return Step(step_id, which, indices.astype(index_dtype), old_values.copy(), new_values.copy(),
                bounding_region(indices, shape_zyx), description)


def bounding_region(indices: np.ndarray, shape_zyx: tuple[int, int, int]) -> Region:
    """Bounding box ``(z, y, x)`` of non-empty flat C-order ``indices`` into a volume of ``shape_zyx``."""
    coordinates = np.unravel_index(np.asarray(indices, dtype=np.int64), shape_zyx)
    z, y, x = (slice(int(c.min()), int(c.max()) + 1) for c in coordinates)
    return (z, y, x)


class History:
    """Undo and redo stacks of :class:`Step` within a memory budget.

    Parameters
    ----------
    budget_bytes : int
        Most memory the steps may hold together (undo and redo). Past it the oldest undo steps
        are dropped, then the redo steps furthest from the present; the newest step is always
        kept, even when it alone exceeds the budget.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._dropped_state = {"pred": None, "gt": None}
        self._nbytes = 0
        self.budget_bytes = budget_bytes

    @property
    def budget_bytes(self) -> int:
        """The memory budget in bytes; setting it drops steps at once when they exceed it."""
        return self._budget

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        if not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"the history budget must be a whole number of bytes >= 0, got {value!r}")
        self._budget = int(value)
        self._enforce_budget()

    @property
    def nbytes(self) -> int:
        """Memory held by all steps."""
        return self._nbytes

    @property
    def undo_steps(self) -> tuple[Step, ...]:
        """Steps that can be undone, oldest first."""
        return tuple(self._undo)

    @property
    def redo_steps(self) -> tuple[Step, ...]:
        """Steps that can be redone, next to redo last."""
        return tuple(self._redo)

    @property
    def can_undo(self) -> bool:
        """Whether there is a step to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is a step to redo."""
        return bool(self._redo)

    def push(self, step: Step) -> None:
        """Record a new step: it becomes the next to undo, and the redo steps are forgotten."""
        self.clear_redo()
        self._undo.append(step)
        self._nbytes += step.nbytes
        self._enforce_budget()

    def clear_redo(self) -> None:
        """Forget every redo step."""
        self._nbytes -= sum(step.nbytes for step in self._redo)
        self._redo.clear()

    def take_undo(self) -> Step | None:
        """Move the next step to undo onto the redo stack and return it (None when there is none)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        return step

    def take_redo(self) -> Step | None:
        """Move the next step to redo back onto the undo stack and return it (None when there is none)."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        return step

    def state_id(self, which: str) -> int | None:
        """Id of the newest applied step that changed ``which`` (None: none since the history began).

        Two moments with the same state id have the same contents of that mask, which is how the
        edit session tells whether a mask differs from its saved version.
        """
        check_which(which)
        for step in reversed(self._undo):
            if step.which == which:
                return step.id
        return self._dropped_state[which]

    def _enforce_budget(self) -> None:
        while self._nbytes > self._budget and len(self._undo) + len(self._redo) > 1:
            if self._undo:
                dropped = self._undo.pop(0)
                self._dropped_state[dropped.which] = dropped.id
            else:
                dropped = self._redo.pop(0)
            self._nbytes -= dropped.nbytes
