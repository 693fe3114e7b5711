"""What review mode changes in the main window, and how leaving it puts the window back.

:class:`~app.qt.worklist_controller.WorklistController` calls :func:`hook_window` when it starts and
:func:`unhook_window` when another review folder replaces it (``detach``). Both are here so that each
stays the other's inverse:

- the worklist dock, a tab beside the confusion matrix, and its entry in View → Panels;
- the window's save questions and save target (:class:`~app.qt.worklist_corrected.CorrectedTarget`:
  saves go to ``R/corrected/``);
- the Review menu and keys (:mod:`app.qt.worklist_actions`);
- the case reader and the engine's prepared sources (the read-ahead, :mod:`app.qt.worklist_prefetch`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QDockWidget

from app.qt.case_loader import read_case
from app.qt.worklist_actions import build_review_actions, move_clashing_keys, panels_menu

WINDOW_QUESTIONS = ("ask_replace_input", "ask_save_path")
"""The window's save questions that review mode answers (instance attributes over the window's methods)."""


def add_worklist_dock(window, panel) -> QDockWidget:
    """Put ``panel`` in a "Worklist" dock: a tab beside the confusion matrix, in front (the slice view keeps
    its room), listed in View → Panels; returns the dock (also ``window.docks["worklist"]``)."""
    dock = QDockWidget("Worklist", window)
    dock.setObjectName("worklist_dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.docks["confusion"], dock)
    dock.raise_()
    window.docks["worklist"] = dock
    panels = panels_menu(window)
    if panels is not None:
        panels.addAction(dock.toggleViewAction())   # View → Panels → Worklist
    return dock


def hook_window(review) -> QActionGroup:
    """Make ``review``'s window (a WorklistController's) save to ``R/corrected/``, read cases through the
    read-ahead and show the Review menu; returns the group of the review actions (its ``triggered`` says
    which one was chosen)."""
    window = review.window
    window.ask_replace_input = review.target.replace_answer
    window.ask_save_path = review.target.save_path
    window.edits.save_redirect = review.target.redirect
    window.review = review
    window.review_actions, group = build_review_actions(window)
    move_clashing_keys(window.slice_view.view_actions.by_name, window.edit_toolbar.actions_by_name)
    window.case_loader.reader = review.prefetcher.read
    window.controller.prepared_source = review.prefetcher.prepared_engine
    window.controller.prepared_masks_source = review.prefetcher.prepared_masks
    return group


def unhook_window(review) -> None:
    """Undo :func:`hook_window` and :func:`add_worklist_dock` on ``review``'s window: its own questions,
    reader and menus again, no Review menu or keys, no worklist dock (deleted later)."""
    window = review.window
    window.case_loader.reader = read_case
    window.controller.prepared_source = None
    window.controller.prepared_masks_source = None
    for attribute in WINDOW_QUESTIONS:
        window.__dict__.pop(attribute, None)   # the window's own questions again
    window.edits.save_redirect = None
    for action in window.review_actions.values():
        window.removeAction(action)
        action.deleteLater()
    window.review_actions = {}
    menu = next((a for a in window.menuBar().actions() if a.text() == "&Review"), None)
    if menu is not None:
        window.menuBar().removeAction(menu)
    panels = panels_menu(window)
    if panels is not None:
        panels.removeAction(review.dock.toggleViewAction())
    window.removeDockWidget(review.dock)
    window.docks.pop("worklist", None)
    review.dock.deleteLater()
    window.review = None
