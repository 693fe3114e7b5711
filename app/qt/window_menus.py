"""The review window's menu bar: File, Edit, View and Help, built from the actions the window's parts own.

The slice view owns the view actions (planes, overlay modes, window/level presets), the edit toolbar the
editing actions, the edit workflow the save/export actions; this module only arranges them in menus
and adds the window's own commands (open, recent cases, panels, theme, layout reset, shortcuts help).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from app.qt.theme import THEMES

EDIT_MENU_GROUP_ENDS = ("tool_polygon", "bigger_brush", "background_only")
"""Edit actions after which the Edit menu has a separator."""


@dataclass(frozen=True)
class WindowMenus:
    """The menu parts the window keeps updating.

    Attributes
    ----------
    recent_menu : QMenu
        File → Open recent; its actions carry the case's paths as JSON in ``data()``.
    theme_group : QActionGroup
        Exclusive group of the theme actions (``triggered`` gives the chosen one).
    theme_actions : dict of str to QAction
        Theme name -> its checkable action; the action's ``data()`` is the theme name.
    """

    recent_menu: QMenu
    theme_group: QActionGroup
    theme_actions: dict[str, QAction]


def build_menus(window) -> WindowMenus:
    """Fill ``window``'s menu bar and connect the window's public commands.

    Parameters
    ----------
    window : app.qt.main_window.MainWindow
        Provides ``slice_view.view_actions``, ``edit_toolbar.actions_by_name``, ``edits.file_actions``,
        ``docks`` and the slots ``open_case_dialog``, ``open_demo_case``, ``open_model_output_dialog``,
        ``uncertainty.actions``, ``close``, ``reset_layout``
        and ``show_shortcuts``.

    Returns
    -------
    WindowMenus
        The recent-cases menu and theme actions, for the window to fill and connect.
    """
    view_actions = window.slice_view.view_actions
    menu_bar = window.menuBar()

    file_menu = menu_bar.addMenu("&File")
    open_action = file_menu.addAction("&Open case…")
    open_action.setShortcut(QKeySequence.StandardKey.Open)
    open_action.triggered.connect(window.open_case_dialog)
    recent_menu = file_menu.addMenu("Open &recent")
    demo_action = file_menu.addAction("Open the &demo case")
    demo_action.triggered.connect(window.open_demo_case)
    dataset_action = file_menu.addAction("Open data&set…")
    dataset_action.setToolTip("Open a review folder made by dicelens review: the worklist, worst case first")
    dataset_action.triggered.connect(window.open_dataset_dialog)
    model_output_action = file_menu.addAction("Open &model output…")
    model_output_action.setToolTip("The model's class probabilities or logits for the case shown (soft Dice)")
    model_output_action.triggered.connect(window.open_model_output_dialog)
    file_menu.addSeparator()
    for name in ("save_pred", "save_gt", "save_pred_as", "save_gt_as", "save_pred_seg", "save_gt_seg"):
        file_menu.addAction(window.edits.file_actions[name])
    file_menu.addSeparator()
    file_menu.addAction(window.edits.file_actions["export_report"])
    export_review_action = file_menu.addAction("Export re&view (CSV and PDF)")
    export_review_action.triggered.connect(window.export_review)
    file_menu.addSeparator()
    quit_action = file_menu.addAction("&Quit")
    quit_action.setShortcut(QKeySequence.StandardKey.Quit)
    quit_action.triggered.connect(window.close)

    edit_menu = menu_bar.addMenu("&Edit")
    for name, action in window.edit_toolbar.actions_by_name.items():
        edit_menu.addAction(action)
        if name in EDIT_MENU_GROUP_ENDS:
            edit_menu.addSeparator()

    view_menu = menu_bar.addMenu("&View")
    layout_menu = view_menu.addMenu("&Layout")
    for action in window.views.layout_actions.values():
        layout_menu.addAction(action)
    for action in view_actions.planes.values():
        view_menu.addAction(action)
    view_menu.addSeparator()
    for action in view_actions.modes.values():
        view_menu.addAction(action)
    for name in ("errors_all_classes", "show_gt", "show_pred", "more_opaque", "less_opaque"):
        view_menu.addAction(view_actions.by_name[name])
    for action in window.uncertainty.actions.values():   # the model's uncertainty (docs/architecture.md §8)
        view_menu.addAction(action)
    for action in window.objects_key.actions.values():   # missed and false objects (docs/architecture.md §5b)
        view_menu.addAction(action)
    view_menu.addSeparator()
    window_menu = view_menu.addMenu("&Window / level")
    window_menu.addAction(view_actions.by_name["auto_window"])
    for action in view_actions.presets.values():
        window_menu.addAction(action)
    for name in ("previous_slice", "next_slice", "fit_view"):
        view_menu.addAction(view_actions.by_name[name])
    view_menu.addSeparator()
    panels_menu = view_menu.addMenu("&Panels")
    for dock in window.docks.values():
        panels_menu.addAction(dock.toggleViewAction())
    theme_menu = view_menu.addMenu("&Theme")
    theme_actions: dict[str, QAction] = {}
    theme_group = QActionGroup(window)
    for theme in THEMES:
        action = theme_menu.addAction(theme.capitalize())
        action.setCheckable(True)
        action.setData(theme)
        theme_group.addAction(action)
        theme_actions[theme] = action
    reset_action = view_menu.addAction("&Reset layout")
    reset_action.triggered.connect(window.reset_layout)

    help_menu = menu_bar.addMenu("&Help")
    shortcuts_action = help_menu.addAction("&Keyboard shortcuts")
    shortcuts_action.setShortcut(QKeySequence.StandardKey.HelpContents)
    shortcuts_action.triggered.connect(window.show_shortcuts)
    return WindowMenus(recent_menu, theme_group, theme_actions)
