"""The window's central area: one slice view, or three linked views (axial, coronal, sagittal) with a crosshair.

Layouts (:data:`LAYOUTS`):

``single``
    One :class:`~app.qt.slice_view.SliceView` whose plane is the shared
    :class:`~app.qt.review_state.ReviewState`'s (View → Axial / Coronal / Sagittal switch it).
``three``
    The same main view and two more, each showing one fixed plane through the :class:`~app.qt.crosshair.
    Crosshair`: a left click (navigate tool) puts the crosshair on the clicked voxel, dragging a crosshair
    line moves it along that line's axis, the wheel or slider of a view moves it along the view's axis;
    the other views follow. The view last pressed is *in focus* (outlined): the shared state's axis and
    slice are its plane's, so the per-slice plot, the confusion matrix's "locate" and PageUp/PageDown act
    on it, and View → Axial / Coronal / Sagittal focus the view of that plane. A 2D case falls back to one
    view (:attr:`ViewLayout.message` says so); the next volume is shown in three again.

Every view has its own edit tools (:class:`~app.qt.edit_tools_group.EditToolsGroup`), so painting lands
in the plane of the view under the mouse; an edit re-renders only its tile in each view
(:meth:`ViewLayout.update_region`). Overlay settings and the intensity window are the main view's (its
actions and the label list change them) and are copied to the others.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QWidget

from app.orientation import PLANE_NAMES, array_axis_for_plane, screen_to_index
from app.qt.crosshair import Crosshair, CrosshairPlane
from app.qt.crosshair_lines import CrosshairLines
from app.qt.edit_tools import EditTools
from app.qt.edit_tools_group import EditToolsGroup
from app.qt.slice_view import SliceView

LAYOUTS = ("single", "three")
LAYOUT_TEXT = {"single": "&One view", "three": "&Three linked views (axial, coronal, sagittal)"}
TWO_D_MESSAGE = "Three linked views need a volume: this 2D image is shown in one view."
FOCUS_STYLE = "QGraphicsView { border: 2px solid rgb(255, 213, 79); }"
UNFOCUSED_STYLE = "QGraphicsView { border: 2px solid transparent; }"


class ViewLayout(QWidget):
    """The slice views of the window and how they are arranged and linked.

    Parameters
    ----------
    state : ReviewState

    Attributes
    ----------
    primary : SliceView
        The main view (the only one in ``single``; the axial one in ``three``); it owns the view actions.
    views : list of SliceView
        ``primary`` and the two others, in the order axial, coronal, sagittal of the ``three`` layout.
    crosshair : Crosshair
    edit_tools : EditToolsGroup
        One :class:`EditTools` per view.
    requested : str
        The layout asked for (menu, ``--layout``, settings).
    shown : str
        The layout on screen: ``single`` for a 2D case even when ``three`` is requested.
    layout_actions : dict of str to QAction
        View → Layout entries (checkable, exclusive).

    Signals
    -------
    layout_changed(str)
        The requested layout changed (to remember it).
    message(str)
        Something to tell in the status bar.
    """

    layout_changed = Signal(str)
    message = Signal(str)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.crosshair = Crosshair(state, self)   # first: it resets before any view lays a new case out
        self.planes = [CrosshairPlane(self.crosshair, axis, self) for axis in (0, 1, 2)]
        self.primary = SliceView(state)
        self.views = [self.primary, SliceView(state, with_actions=False), SliceView(state, with_actions=False)]
        for view, plane in zip(self.views[1:], self.planes[1:], strict=True):
            view.set_plane(plane)
            view.legend_label.hide()   # the main view's legend says it for all three
            view.info_item.hide()   # it would run into the top letter of a narrow view; the slider says the slice
        self.lines = [CrosshairLines(view, self.crosshair) for view in self.views]
        self.edit_tools = EditToolsGroup([EditTools(view) for view in self.views], self)
        self.requested = "single"
        self.shown = "single"
        self._build_splitters()
        self._build_actions()
        self._fit_timer = QTimer(self)   # owned: never fires on a closed window
        self._fit_timer.setSingleShot(True)
        self._fit_timer.timeout.connect(self.fit_views)
        state.case_changed.connect(self._on_case_changed)
        state.axis_changed.connect(self._on_state_axis_changed)
        state.slice_changed.connect(self._on_state_slice_changed)
        self.crosshair.moved.connect(self._on_crosshair_moved)
        self.primary.overlay_settings_changed.connect(self._on_overlay_settings_changed)
        for view in self.views:
            view.window_changed.connect(self._on_window_changed)
            view.view_box.clicked.connect(self._on_view_clicked)
            view.graphics.viewport().installEventFilter(self)
        self.primary.view_actions.by_name["fit_view"].triggered.connect(self.fit_views)

    def _build_splitters(self) -> None:
        self.side = QSplitter(Qt.Orientation.Vertical)
        self.side.addWidget(self.views[1])
        self.side.addWidget(self.views[2])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.primary)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.side.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _build_actions(self) -> None:
        self.layout_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for name in LAYOUTS:
            action = QAction(LAYOUT_TEXT[name], self)
            action.setCheckable(True)
            action.setData(name)
            group.addAction(action)
            self.layout_actions[name] = action
        self.layout_actions["single"].setChecked(True)
        group.triggered.connect(self._on_layout_triggered)

    # ---------------------------------------------------------------- layout
    def set_layout(self, name: str) -> None:
        """Show ``name`` (one of :data:`LAYOUTS`); ``three`` falls back to one view for a 2D case."""
        if name not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {name!r}")
        self.layout_actions[name].setChecked(True)
        if name != self.requested:
            self.requested = name
            self._apply_layout()
            self.layout_changed.emit(name)

    @property
    def linked(self) -> bool:
        """Whether the three linked views are on screen."""
        return self.shown == "three"

    def focused_view(self) -> SliceView:
        """The view whose plane is the shared state's (the main view in ``single``)."""
        if not self.linked:
            return self.primary
        return next((view for view in self.views if view.axis == self.state.axis), self.primary)

    def _apply_layout(self) -> None:
        case = self.state.case
        two_dimensional = case is not None and case.gt.shape[0] == 1
        three = self.requested == "three" and not two_dimensional
        if self.requested == "three" and two_dimensional:
            self.message.emit(TWO_D_MESSAGE)
        if three != self.linked:
            if three:
                self._enter_three()
            else:
                self._leave_three()
        self._show_focus()

    def _enter_three(self) -> None:
        state = self.state
        if state.case is not None:   # through the voxel last under the mouse, on the slice shown
            start = list(self.primary.cursor_index or self.crosshair.point)
            start[state.axis] = state.slice_index
            self.crosshair.set_point(start)
        self.shown = "three"
        self._assign_planes()
        self.side.show()
        for lines in self.lines:
            lines.set_shown(True)
        self._fit_timer.start(0)   # once the splitter has given each view its size

    def _leave_three(self) -> None:
        self.shown = "single"
        self.primary.set_plane(self.state)   # the state's axis and slice are the focused view's already
        self.side.hide()
        for lines in self.lines:
            lines.set_shown(False)
        self._fit_timer.start(0)

    def _assign_planes(self) -> None:
        """Axial, coronal, sagittal views on the array axes closest to those planes (identity: 0, 1, 2)."""
        case = self.state.case
        axes = [0, 1, 2]
        if case is not None:
            nearest = [array_axis_for_plane(case.geometry.direction, plane) for plane in PLANE_NAMES]
            if sorted(nearest) == axes:   # a very oblique image may map two planes to one axis: keep 0, 1, 2
                axes = nearest
        for index, (view, axis) in enumerate(zip(self.views, axes, strict=True)):
            if index > 0 or self.linked:
                view.set_plane(self.planes[axis])

    def _show_focus(self) -> None:
        focused = self.focused_view()
        for view, tools in zip(self.views, self.edit_tools.members, strict=True):
            if self.linked:
                view.graphics.setStyleSheet(FOCUS_STYLE if view is focused else UNFOCUSED_STYLE)
            else:
                view.graphics.setStyleSheet("")
            if view is focused:
                self.edit_tools.set_active(tools)

    @Slot()
    def fit_views(self) -> None:
        """Zoom every view shown so its whole slice fits (Home)."""
        for view in self.views if self.linked else [self.primary]:
            view.fit_view()

    @Slot(QAction)
    def _on_layout_triggered(self, action: QAction) -> None:
        self.set_layout(action.data())

    # ----------------------------------------------------------------- links
    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        self._assign_planes()
        self._apply_layout()
        for lines in self.lines:
            lines.update_lines()

    @Slot(int)
    def _on_state_axis_changed(self, axis: int) -> None:
        if self.linked:   # the state's slice along the new axis (set_plane) is where the crosshair goes
            self.crosshair.set_coordinate(axis, self.state.slice_index)
            self._show_focus()

    @Slot(int)
    def _on_state_slice_changed(self, index: int) -> None:
        if self.linked:
            self.crosshair.set_coordinate(self.state.axis, index)

    @Slot(object)
    def _on_crosshair_moved(self, point) -> None:
        if self.linked:
            self.state.set_slice(point[self.state.axis])

    def focus_view(self, view: SliceView) -> None:
        """Make ``view`` the view in focus (three views): the shared state takes its plane."""
        if self.linked and view.axis != self.state.axis:
            self.state.set_plane(view.axis, view.slice_index)

    @Slot(QPointF)
    def _on_view_clicked(self, position: QPointF) -> None:
        view = next((view for view in self.views if view.view_box is self.sender()), None)
        if not self.linked or view is None or view.frame is None or self.state.case is None:
            return
        frame, shape = view.frame, self.state.case.gt.shape
        row, col = math.floor(position.y() / frame.row_mm), math.floor(position.x() / frame.col_mm)
        if 0 <= row < shape[frame.row_axis] and 0 <= col < shape[frame.col_axis]:
            self.crosshair.set_point(screen_to_index(frame, view.slice_index, row, col, shape))

    def eventFilter(self, watched, event) -> bool:  # Qt override
        """A press in a view's image area focuses that view (the event goes on to the view)."""
        if event.type() == QEvent.Type.MouseButtonPress:
            view = next((view for view in self.views if view.graphics.viewport() is watched), None)
            if view is not None:
                self.focus_view(view)
        return False

    @Slot(object)
    def _on_overlay_settings_changed(self, settings) -> None:
        for view in self.views[1:]:
            view.set_overlay_settings(settings)

    @Slot(object)
    def _on_window_changed(self, window) -> None:
        for view in self.views:
            if view.window != window:
                view.set_window(window)

    # ----------------------------------------------------------- edits, engine
    @Slot(object)
    def update_region(self, region) -> None:
        """Re-render the tile of an edit of box ``region`` in every view (hidden ones too: they show again
        as they are)."""
        for view in self.views:
            view.update_region(region)

    @Slot(object)
    def refresh_readout(self, result=None) -> None:
        """Describe the voxel under the mouse again in every view (an edit may have changed it)."""
        for view in self.views:
            view.refresh_readout(result)
