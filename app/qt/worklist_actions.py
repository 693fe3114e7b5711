"""The review's keys and menu: next / previous case, next to review, verdicts and grades.

In review mode (``dicelens review``) the window gets a Review menu with these actions; Help → Keyboard
shortcuts lists them with the others (``MainWindow.review_actions``). Five review keys were already
taken by the slice view and the edit toolbar; in review mode those move to a modified key, so that
nothing clashes and every function keeps a key:

=====================  ==============  =====================
review action          key             moved action, new key
=====================  ==============  =====================
next case              ``]``, Alt+→    more opaque: Ctrl+]
previous case          ``[``, Alt+←    less opaque: Ctrl+[
next to review         ``N``           Navigate tool: Shift+N
accept                 ``A``           error map of all classes: Shift+A
needs correction       ``C``           contours overlay: Shift+C
reject (asks comment)  ``R``
grade 1 to 5           ``1`` … ``5``
=====================  ==============  =====================
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

REVIEW_KEYS = {
    "next_case": ("&Next case (also Alt+→)", ("]", "Alt+Right")),
    "previous_case": ("&Previous case (also Alt+←)", ("[", "Alt+Left")),
    "next_to_review": ("Next case &to review (worst undecided)", ("N",)),
    "accept": ("&Accept", ("A",)),
    "needs_correction": ("Needs &correction", ("C",)),
    "reject": ("&Reject (asks for a comment)", ("R",)),
    **{f"grade_{grade}": (f"Grade &{grade}", (str(grade),)) for grade in range(1, 6)},
}
"""Action name -> (menu text, keys)."""

MOVED_KEYS = {
    ("view", "more_opaque"): "Ctrl+]",
    ("view", "less_opaque"): "Ctrl+[",
    ("view", "mode_contours"): "Shift+C",
    ("view", "errors_all_classes"): "Shift+A",
    ("edit", "tool_navigate"): "Shift+N",
    ("edit", "tool_grow"): "Shift+R",
}
"""(owner, action name) -> its key in review mode (its own key is a review key there)."""

MENU_GROUP_ENDS = ("next_to_review", "reject")
"""Review actions after which the Review menu has a separator."""


def move_clashing_keys(view_actions: dict[str, QAction], edit_actions: dict[str, QAction]) -> None:
    """Give the view and edit actions whose key is a review key their review-mode key (:data:`MOVED_KEYS`).

    An action not listed there whose key is a review key gets ``Shift+`` that key (a tool added later).
    """
    owners = {"view": view_actions, "edit": edit_actions}
    review_keys = {QKeySequence(key).toString() for _, keys in REVIEW_KEYS.values() for key in keys}
    for owner, actions in owners.items():
        for name, action in actions.items():
            key = MOVED_KEYS.get((owner, name))
            if key is None and action.shortcut().toString() in review_keys:
                key = f"Shift+{action.shortcut().toString()}"
            if key is not None:
                _set_key(action, key)


def _set_key(action: QAction, key: str) -> None:
    action.setShortcut(QKeySequence(key))
    tip = action.toolTip()
    if "(" in tip and tip.endswith(")"):   # the edit toolbar's tips end with their key
        shown = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip[:tip.rfind('(')]}({shown})")


def build_review_actions(window) -> tuple[dict[str, QAction], QActionGroup]:
    """Create the review actions and put them in a Review menu before Help.

    Parameters
    ----------
    window : app.qt.main_window.MainWindow
        Gets the menu; the actions are the window's, so their keys work wherever the focus is.

    Returns
    -------
    actions : dict of str to QAction
        Action name (:data:`REVIEW_KEYS`) -> action; ``data()`` holds the name.
    group : QActionGroup
        Non-exclusive group of them all: connect its ``triggered(QAction)`` to one bound slot.
    """
    actions: dict[str, QAction] = {}
    group = QActionGroup(window)
    group.setExclusionPolicy(QActionGroup.ExclusionPolicy.None_)
    menu = QMenu("&Review", window)
    for name, (text, keys) in REVIEW_KEYS.items():
        action = QAction(text, window)
        action.setShortcuts([QKeySequence(key) for key in keys])
        action.setData(name)
        group.addAction(action)
        menu.addAction(action)
        window.addAction(action)
        actions[name] = action
        if name in MENU_GROUP_ENDS:
            menu.addSeparator()
    menu_bar = window.menuBar()
    help_menu = next((a for a in menu_bar.actions() if a.text().replace("&", "") == "Help"), None)
    if help_menu is None:
        menu_bar.addMenu(menu)
    else:
        menu_bar.insertMenu(help_menu, menu)
    return actions, group


def panels_menu(window):
    """The window's View → Panels menu (None if the menu bar has none)."""
    for top in window.menuBar().actions():
        if top.menu() is not None and top.text() == "&View":
            for entry in top.menu().actions():
                if entry.menu() is not None and entry.text() == "&Panels":
                    return entry.menu()
    return None
