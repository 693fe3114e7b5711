"""Which slice a case opens on: where the first class with errors has most foreground, not the middle.

The middle slice of a volume may hold no mask at all. When the engine's first per-slice counts for a
case arrive, the view jumps once to :func:`opening_slice` of the current axis, unless the user has moved to
another slice meanwhile. The per-slice counts come from the engine (the whole counts of the axis on
screen, :class:`~app.qt.engine_messages.SliceCounts`, which follow the case's first table); nothing is
counted here.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Slot


def opening_slice(slice_counts: np.ndarray) -> int | None:
    """The slice to open on, from one axis' per-slice counts; None when no slice holds foreground.

    Parameters
    ----------
    slice_counts : numpy.ndarray
        ``(S, C, 3) int64``: TP, FP, FN of each class ``0 .. C-1`` in each of ``S`` slices (class 0 is
        background).

    Returns
    -------
    int or None
        The slice with most foreground (voxels of the class in either mask: TP + FP + FN) of the first
        foreground class, in label order, with any false positive or false negative; else the slice with
        most foreground of all foreground classes together; None when there is no foreground.
    """
    foreground = slice_counts[:, 1:, :]
    in_either_mask = foreground.sum(axis=2)                      # (S, C - 1)
    errors = foreground[:, :, 1:].sum(axis=(0, 2))               # (C - 1,) FP + FN over the volume
    with_errors = np.flatnonzero(errors > 0)
    if with_errors.size:
        return int(np.argmax(in_either_mask[:, with_errors[0]]))
    total = in_either_mask.sum(axis=1)
    return int(np.argmax(total)) if total.any() else None


class OpeningSlice(QObject):
    """Moves a newly opened case to its :func:`opening_slice` when the engine's first per-slice counts arrive.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        The slice is set here; a slice change by anyone else before the result counts as the user's
        choice and cancels the jump.
    controller : app.qt.engine_controller.EngineController
        Source of the results (``result_ready``) and of the current generation.
    """

    def __init__(self, state, controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._controller = controller
        self._pending = False
        self._jumping = False
        state.case_changed.connect(self._on_case_changed)
        state.slice_changed.connect(self._on_slice_changed)
        controller.result_ready.connect(self._on_result)

    @property
    def pending(self) -> bool:
        """Whether the jump still waits for the case's first per-slice counts."""
        return self._pending

    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        self._pending = True

    @Slot(int)
    def _on_slice_changed(self, _index: int) -> None:
        if not self._jumping:
            self._pending = False   # the user (or the command line) chose a slice: leave it

    @Slot(object)
    def _on_result(self, result) -> None:
        state = self._state
        slices = result.slices
        if not self._pending or result.generation != self._controller.generation:
            return
        if slices is None or not slices.whole or slices.axis != state.axis:
            return   # the table came first; the per-slice counts of the axis on screen follow
        self._pending = False
        target = opening_slice(slices.counts)
        self._jumping = True
        try:
            state.set_slice(state.slice_count() // 2 if target is None else target)
        finally:
            self._jumping = False
