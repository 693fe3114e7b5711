"""The review window: slice view in the centre, Dice table, confusion matrix and per-slice Dice in docks.

The window owns the one :class:`~app.qt.review_state.ReviewState`, the
:class:`~app.qt.engine_controller.EngineController` and the job layer (:mod:`app.qt.jobs`) that runs
all their background work. Opening cases (files, dialog, drops, demo, model output) is the
:class:`~app.qt.case_opening.CaseOpening` mixin's; bad input is reported through
:meth:`MainWindow.show_error` (a dialog; tests replace the method to read the message instead of
blocking on it). Closing the window stops every job (:meth:`JobLayer.shutdown`). Editing (tools, toolbar, Dice
history, saving, recovery, the unsaved-edits question, report export) is wired by
:class:`~app.qt.edit_workflow.EditWorkflow`; its questions use the replaceable ``ask_*`` methods.

The menu bar is arranged by :func:`~app.qt.window_menus.build_menus`.

Remembered in ``QSettings("DiceLens", "DiceLens")``: window geometry and dock layout, theme, last
directory, recent cases and the layout of the slice views (one or three linked).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QWidget,
)

from app.qt.case_loader import CaseLoader, case_title
from app.qt.case_opening import CaseOpening
from app.qt.confusion_panel import ConfusionMatrixPanel
from app.qt.dice_history import DiceHistoryPanel
from app.qt.dice_table import BUSY_DELAY_MS, DiceTablePanel
from app.qt.edit_questions import EditQuestions
from app.qt.edit_toolbar import EditToolbar
from app.qt.edit_workflow import EditWorkflow
from app.qt.engine_controller import EngineController
from app.qt.jobs import JobLayer
from app.qt.label_list import LabelListPanel
from app.qt.objects_controller import ObjectsController
from app.qt.objects_dock import ObjectsPanel
from app.qt.objects_key import ObjectsKey
from app.qt.objects_outline import ObjectsOutline
from app.qt.opening_slice import OpeningSlice
from app.qt.plain_text import plain_message_box, plain_tooltip
from app.qt.review_state import ReviewState
from app.qt.shortcuts_help import shortcuts_html
from app.qt.slice_plot import SliceDicePlotPanel
from app.qt.slice_uncertainty import SliceUncertaintyCurve
from app.qt.soft_columns import SoftColumns
from app.qt.soft_controller import SoftController
from app.qt.theme import DEFAULT_THEME, PLOT_COLORS, THEMES, apply_theme
from app.qt.threshold_apply import ThresholdApplier
from app.qt.threshold_curve import ThresholdCurvePanel
from app.qt.threshold_dock import ThresholdDockRaiser
from app.qt.uncertainty_overlay import UncertaintyOverlay
from app.qt.view_layout import LAYOUTS, ViewLayout
from app.qt.window_menus import build_menus

SETTINGS_ORGANIZATION = "DiceLens"
SETTINGS_APPLICATION = "DiceLens"
MAX_RECENT_CASES = 8
LAYOUT_VERSION = 1
VIEW_LAYOUT_SETTING = "view/layout"
"""Settings key: the slice views' layout, ``single`` or ``three`` (:mod:`app.qt.view_layout`)."""
DEFAULT_SIZE = (1600, 1000)
"""First-start window size, pixels (shrunk to fit smaller screens)."""
DICE_DOCK_WIDTH = 920
MIN_VIEW_WIDTH = 600
"""The right column leaves at least this much to the slice view on a small screen (1280 x 800), pixels."""
"""First-start width of the right column, pixels: every Dice table column, HD95 and ASSD included, without
a horizontal scrollbar."""


class MainWindow(CaseOpening, EditQuestions, QMainWindow):
    """DiceLens' main window.

    Parameters
    ----------
    settings : QSettings, optional
        Where layout, theme, last directory and recent cases are kept (default: the user's
        ``DiceLens`` settings); tests pass a temporary file.
    synchronous : bool
        Load cases and compute metrics inline instead of in background threads (tests).
    edit_data_dir : str or Path, optional
        Base of the user data directory holding the edit journals (default: the platform's, or
        ``$DICELENS_DATA_DIR``).

    Signals
    -------
    case_opened(object)
        A case opened with :meth:`open_case` is shown (the :class:`app.io.Case`).
    """

    case_opened = Signal(object)

    def __init__(self, settings: QSettings | None = None, synchronous: bool = False,
                 parent: QWidget | None = None, edit_data_dir=None) -> None:
        super().__init__(parent)
        self.edit_data_dir = edit_data_dir
        self.settings = settings or QSettings(SETTINGS_ORGANIZATION, SETTINGS_APPLICATION)
        self.setWindowTitle("DiceLens")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.state = ReviewState(self)
        self.jobs = JobLayer(self, synchronous=synchronous)
        self.controller = EngineController(self, jobs=self.jobs)
        self.case_loader = CaseLoader(self.jobs, self)
        self.case_loader.loaded.connect(self._on_case_loaded)
        self.case_loader.failed.connect(self._on_case_failed)
        self.case_paths: dict[str, str | None] | None = None
        self._requested_paths: dict[str, str | None] = {}
        self._opening = False

        self.opening_slice = OpeningSlice(self.state, self.controller, self)
        self.views = ViewLayout(self.state)   # one view or three linked ones (View → Layout)
        self.slice_view = self.views.primary
        self.setCentralWidget(self.views)
        self.dice_table = DiceTablePanel(self.state, self.controller)
        self.confusion_panel = ConfusionMatrixPanel(self.state, self.controller)
        self.slice_plot = SliceDicePlotPanel(self.state, self.controller)
        self.docks = {
            "dice": self._add_dock("Dice", "dice_dock", self.dice_table, Qt.DockWidgetArea.RightDockWidgetArea),
            "confusion": self._add_dock("Confusion matrix", "confusion_dock", self.confusion_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea),
            "slices": self._add_dock("Dice per slice", "slice_plot_dock", self.slice_plot,
                                     Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        # The right column (table, matrix) runs the full height; the slice plot sits under the view only.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.docks["dice"]], [DICE_DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["dice"], self.docks["confusion"]], [380, 560], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["slices"]], [200], Qt.Orientation.Vertical)
        self.edit_tools = self.views.edit_tools   # one EditTools per view, driven as one
        self.edit_toolbar = EditToolbar(self.edit_tools, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.edit_toolbar)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.edit_toolbar.options_bar)  # radius, tool options
        self.dice_history = DiceHistoryPanel(self.state, self.controller)
        self.docks["history"] = self._add_dock("Dice history", "dice_history_dock", self.dice_history,
                                               Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.docks["slices"], self.docks["history"], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["slices"], self.docks["history"]], [500, 210], Qt.Orientation.Horizontal)
        self.edits = EditWorkflow(self, self.edit_tools, self.edit_toolbar, self.dice_history)
        self.soft_metrics = SoftController(self.jobs, self)   # soft Dice of the model output (§8)
        self.soft_metrics.warning.connect(self._on_soft_warning)
        self.soft_columns = SoftColumns(self.dice_table, self.soft_metrics, self.state)
        self.label_list = LabelListPanel(self.state, self.slice_view)
        self.docks["labels"] = self._add_dock("Labels", "label_list_dock", self.label_list,
                                              Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.docks["confusion"], self.docks["labels"])
        self.objects = ObjectsController(self, jobs=self.jobs, engine=self.controller)   # lesions ("objects" lane)
        self.objects_panel = ObjectsPanel(self.state, self.objects, self.views)
        self.docks["objects"] = self._add_dock("Objects", "objects_dock", self.objects_panel,
                                               Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.docks["confusion"], self.docks["objects"])
        self.objects_outline = ObjectsOutline(self.views, self.objects)   # their key in the slice views
        self.objects_panel.outline_box.toggled.connect(self.objects_outline.set_shown)
        self.objects_key = ObjectsKey(self.views, self.objects)   # their voxels, and the chosen one (§5b)
        self.objects_panel.object_chosen.connect(self.objects_key.choose)
        self.docks["confusion"].raise_()
        self.label_list.label_activated.connect(self.edit_toolbar.set_label)   # selects it everywhere
        self.review_actions: dict[str, QAction] = {}   # filled in review mode (app/qt/worklist_actions.py)
        self.review = None   # the WorklistController in review mode (app/qt/worklist_controller.py)
        self.threshold_curve = ThresholdCurvePanel(self.state, self.soft_metrics)   # Dice vs threshold (§8)
        self.docks["threshold"] = self._add_dock("Dice vs threshold", "threshold_curve_dock", self.threshold_curve,
                                                 Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["history"], self.docks["threshold"])
        self.docks["history"].raise_()
        self.threshold_applier = ThresholdApplier(self)   # the slider re-derives the prediction
        self.threshold_dock = ThresholdDockRaiser(self, self.docks["threshold"], self.docks["history"], self.state)
        self.uncertainty = UncertaintyOverlay(self.views.views, self.state, self.soft_metrics, self)
        self.slice_uncertainty = SliceUncertaintyCurve(self.slice_plot, self.state, self.soft_metrics, self)

        self._build_status_bar()
        self.controller.result_ready.connect(self._on_result)
        self.controller.result_ready.connect(self.views.refresh_readout)
        self.views.message.connect(self._show_view_message)
        self.views.layout_changed.connect(self._remember_view_layout)
        self.controller.busy_changed.connect(self._on_busy_changed)
        self.controller.warning.connect(self.show_error)
        self.controller.cell_located.connect(self._on_cell_located)
        menus = build_menus(self)
        self.recent_menu, self.theme_actions = menus.recent_menu, menus.theme_actions
        self.recent_menu.triggered.connect(self._on_recent_triggered)
        menus.theme_group.triggered.connect(self._on_theme_triggered)
        self._refresh_recent_menu()
        self._default_layout = self.saveState(LAYOUT_VERSION)
        self._restore_settings()

    # ---------------------------------------------------------------- layout
    def _add_dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        self.device_label = QLabel("Engine: –")
        self.compute_label = QLabel("")
        metrics = self.compute_label.fontMetrics()
        self.compute_label.setMinimumWidth(metrics.horizontalAdvance("last computation 00000 ms"))
        self._engine_busy_shown = False
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_DELAY_MS)
        self._busy_timer.timeout.connect(self._show_engine_busy)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setVisible(False)
        self.busy_bar.setToolTip("Computing metrics in the background")
        status = self.statusBar()
        status.addPermanentWidget(self.busy_bar)
        status.addPermanentWidget(self.compute_label)
        status.addPermanentWidget(self.device_label)

    def _size_right_column(self) -> None:
        width = max(min(DICE_DOCK_WIDTH, self.width() - MIN_VIEW_WIDTH), 0)
        self.resizeDocks([self.docks["dice"]], [width], Qt.Orientation.Horizontal)

    def reset_layout(self) -> None:
        """Put every dock back where it starts."""
        self.restoreState(self._default_layout, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()

    # -------------------------------------------------------- recent + state
    def _recent_cases(self) -> list[dict[str, str | None]]:
        try:
            cases = json.loads(str(self.settings.value("files/recent_cases", "[]")))
        except json.JSONDecodeError:
            return []
        return [case for case in cases if isinstance(case, dict) and case.get("gt")
                and (case.get("pred") or case.get("probs") or case.get("logits"))]

    def _remember_case(self, paths: dict[str, str | None]) -> None:
        absolute = {role: (str(Path(path).resolve()) if path else None) for role, path in paths.items()}
        cases = [absolute] + [case for case in self._recent_cases() if case != absolute]
        self.settings.setValue("files/recent_cases", json.dumps(cases[:MAX_RECENT_CASES]))
        self.settings.setValue("files/last_directory", str(Path(absolute["gt"]).parent))
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for case in self._recent_cases():
            action = self.recent_menu.addAction(
                case_title(case).replace("&", "&&"))
            action.setToolTip(plain_tooltip(case["gt"]))
            action.setData(json.dumps(case))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    def _on_recent_triggered(self, action: QAction) -> None:
        case = json.loads(action.data())
        self.open_case(case["gt"], case["pred"], image=case.get("image"), labels=case.get("labels"),
                       probs=case.get("probs"), logits=case.get("logits"))

    def _last_directory(self) -> str:
        return str(self.settings.value("files/last_directory", str(Path.home())))

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            available = self.screen().availableGeometry()
            self.resize(min(DEFAULT_SIZE[0], int(available.width() * 0.95)),
                        min(DEFAULT_SIZE[1], int(available.height() * 0.95)))
            # Again once shown at that size: before it, the window was too small for the column's width.
            QTimer.singleShot(0, self, self._size_right_column)  # dropped if the window goes first
        layout = self.settings.value("window/state")
        if layout is not None:
            self.restoreState(layout, LAYOUT_VERSION)
        view_layout = str(self.settings.value(VIEW_LAYOUT_SETTING, "single"))
        self.views.set_layout(view_layout if view_layout in LAYOUTS else "single")
        theme = str(self.settings.value("view/theme", DEFAULT_THEME))
        self.set_theme(theme if theme in THEMES else DEFAULT_THEME)

    def set_theme(self, theme: str) -> None:
        """Switch to the ``"dark"`` or ``"light"`` theme and remember it."""
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        for panel in (self.slice_plot, self.confusion_panel, self.dice_history):
            panel.set_plot_colors(PLOT_COLORS[theme])
        self.threshold_curve.set_plot_colors(PLOT_COLORS[theme])
        self.theme_actions[theme].setChecked(True)
        self.settings.setValue("view/theme", theme)

    def _remember_view_layout(self, name: str) -> None:
        self.settings.setValue(VIEW_LAYOUT_SETTING, name)

    def _show_view_message(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def _on_theme_triggered(self, action: QAction) -> None:
        self.set_theme(action.data())

    def closeEvent(self, event) -> None:  # Qt override
        """Ask about unsaved edits (Cancel keeps the window open), remember the layout, stop every job."""
        if not self.edits.confirm_discard():
            event.ignore()
            return
        self.edits.close_case()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        self.hide()   # jobs may take a moment to stop: the user should not see a frozen window
        self.controller.shutdown()
        self.objects.shutdown()
        self.jobs.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------ engine news
    def _on_result(self, result) -> None:
        self.device_label.setText(f"Engine: {result.device_name}")
        self.compute_label.setText(f"last computation {result.compute_ms:.0f} ms"
                                   if math.isfinite(result.compute_ms) else "")

    def _on_busy_changed(self, busy: bool) -> None:
        # A brush segment makes the engine busy for milliseconds: announcing each one would re-lay out
        # and repaint the status bar twice per segment, so only computations outlasting the delay show.
        if busy:
            if not self._busy_timer.isActive():
                self._busy_timer.start()
            return
        self._busy_timer.stop()
        if self._engine_busy_shown:
            self._engine_busy_shown = False
            if not self._opening:
                self.statusBar().clearMessage()
        self._update_busy()

    def _show_engine_busy(self) -> None:
        if self.controller.busy:
            self._engine_busy_shown = True
            self.statusBar().showMessage("Computing metrics…")
            self._update_busy()

    def _update_busy(self) -> None:
        visible = self._opening or (self.controller.busy and self._engine_busy_shown)
        if visible != self.busy_bar.isVisibleTo(self):
            self.busy_bar.setVisible(visible)

    def _on_cell_located(self, gt_label: int, pred_label: int, axis: int, slice_index: int) -> None:
        if slice_index < 0 and self.state.highlighted_cell == (gt_label, pred_label):
            self.statusBar().showMessage(
                f"No voxel has ground truth '{self.state.case.labels.name(gt_label)}' and prediction "
                f"'{self.state.case.labels.name(pred_label)}'.", 8000)

    def open_dataset_dialog(self) -> None:
        """File → Open dataset…: review a folder made by ``dicelens review`` (app/qt/worklist_session.py)."""
        from app.qt.worklist_session import open_dataset_dialog

        open_dataset_dialog(self)

    def export_review(self) -> None:
        """File → Export review: R/review.csv and R/review.pdf of the review open (app/qt/worklist_session.py)."""
        from app.qt.worklist_session import export_review

        export_review(self)

    # ------------------------------------------------------------- messages
    def show_error(self, message: str) -> None:
        """Tell the user something went wrong (modal dialog; tests replace this method)."""
        plain_message_box(self, QMessageBox.Icon.Critical, "DiceLens", message).exec()  # quotes file and label names

    @Slot(str)
    def _on_soft_warning(self, message: str) -> None:
        self.show_error(message)

    def show_info(self, title: str, html: str) -> None:
        """Show an informative rich-text message (modal dialog; tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.NoIcon, title, html, QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.exec()

    def show_shortcuts(self) -> None:
        """Help → Keyboard shortcuts."""
        self.show_info("Keyboard shortcuts", shortcuts_html(self.slice_view.view_actions,
                                                            {**self.edit_toolbar.actions_by_name,
                                                             **self.review_actions,
                                                             **self.uncertainty.actions,
                                                             **self.objects_key.actions}))
