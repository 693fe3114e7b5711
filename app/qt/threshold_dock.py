"""The "Dice vs threshold" dock comes to the front when a case with model output opens.

The dock starts tabbed behind "Dice history" (the window's default layout), where a user who opens
``--probs`` would never find it. :class:`ThresholdDockRaiser` raises its tab whenever a case with model
output is shown, and gives the tab back to the dock it covered when a case without model output follows
(only when it raised it itself). It respects the remembered layout: a dock the user closed stays closed,
and a dock moved out of the tab group (floating, or docked on its own) is left where it is, already
visible (docs/architecture.md §8a).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QDockWidget, QMainWindow


class ThresholdDockRaiser(QObject):
    """Raises the threshold dock's tab for cases with model output (see the module docstring).

    Parameters
    ----------
    window : QMainWindow
        The window holding both docks.
    dock : QDockWidget
        The "Dice vs threshold" dock.
    covered : QDockWidget
        The dock whose tab it shares by default ("Dice history"), raised again after a case without
        model output when :class:`ThresholdDockRaiser` had raised ``dock``.
    state : app.qt.review_state.ReviewState
        Announces the case shown (``case_changed``).
    """

    def __init__(self, window: QMainWindow, dock: QDockWidget, covered: QDockWidget, state) -> None:
        super().__init__(window)   # the window is parent(), never an attribute: no reference cycle with it
        self._dock = dock
        self._covered = covered
        self._raised = False
        state.case_changed.connect(self._on_case_changed)

    def _tabbed_and_open(self) -> bool:
        """Whether the dock is open (not closed by the user) and shares a tab group with ``covered``."""
        # isHidden: closed (by the user, or in the remembered layout); a tab behind another is not hidden,
        # and a window not yet shown (view --screenshot) has its docks unhidden too
        return (not self._dock.isHidden() and not self._dock.isFloating()
                and self._covered in self.parent().tabifiedDockWidgets(self._dock))

    @Slot(object)
    def _on_case_changed(self, case) -> None:
        with_model_output = case is not None and getattr(case, "scores", None) is not None
        if not self._tabbed_and_open():
            self._raised = False
            return
        if with_model_output:
            self._dock.raise_()
            self._raised = True
        elif self._raised:
            if not self._covered.isHidden():
                self._covered.raise_()
            self._raised = False
