"""Edit tools of the slice view: mouse events become edit-model calls, nothing else (docs/architecture.md §3).

The tools are the registered :data:`~app.model.tools.TOOL_SPECS`; what the left button does follows
the chosen tool's *gesture*:

- **stroke** (brush, eraser): press = ``begin_stroke`` (a dab), every move = ``paint_segment`` from the
  last point to this one (the model interpolates: no gaps on fast drags), release = ``end_stroke`` (one
  undo step).
- **click** (fill, threshold, grow, interpolate, islands, margin): a click runs the tool's operation at
  the clicked point (one undo step); a tool that *previews* (grow) shows its change first, and
  :meth:`EditTools.apply_preview` (Return) writes it, :meth:`EditTools.drop_preview` (Escape) drops it.
  A change larger than the tool allows asks first (:meth:`EditTools.ask_large_change`).
- **lasso**: press, drag an outline, release = the operation on the outline.
- **Ctrl + click** (any tool): label picker, the clicked label of the edited mask becomes the active label.
- **Shift + click** with a tool using the intensity range: the clicked voxel's intensity is announced
  (``intensity_picked``) so the toolbar centres the range on it.

Navigation stays available: with the *navigate* tool left-drag pans; with any tool, middle-drag or
Space + left-drag pans; right-drag is always window/level; the wheel steps slices.

Coordinates: the slice view's ViewBox is in millimetres (pixel ``(row, col)`` covers
``[row * row_mm, (row + 1) * row_mm)``); the model takes continuous ``(z, y, x)`` array-index points with
voxel centres at integers (:func:`view_to_index`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from app.model.tools import TOOL_SPECS, TOOLS, tool_spec
from app.orientation import DisplayFrame
from app.qt.brush_cursor import BACKGROUND_COLOR, BrushCursor, LassoPath, outline_pen
from app.qt.tool_preview import ToolPreview

__all__ = ["TOOLS", "EditTools", "view_to_index"]


def view_to_index(frame: DisplayFrame, slice_index: int, x_mm: float, y_mm: float, shape_zyx) -> np.ndarray:
    """Continuous ``(z, y, x)`` index point ``(3,) float64`` of view position ``(x_mm, y_mm)`` on the slice.

    Voxel centres are at integers; the slice's coordinate is ``slice_index``. Flips and transposes of
    the screen layout are undone (see :mod:`app.orientation`).
    """
    row = y_mm / frame.row_mm - 0.5
    col = x_mm / frame.col_mm - 0.5
    if frame.flip_rows:
        row = shape_zyx[frame.row_axis] - 1 - row
    if frame.flip_cols:
        col = shape_zyx[frame.col_axis] - 1 - col
    point = np.zeros(3, dtype=np.float64)
    point[frame.array_axis] = slice_index
    point[frame.row_axis] = row
    point[frame.col_axis] = col
    return point


class EditTools(QObject):
    """Turns the slice view's left-button mouse events into calls on the current :class:`EditBridge`.

    Parameters
    ----------
    view : app.qt.slice_view.SliceView
        The view; an event filter is installed on its graphics view and viewport.

    Attributes
    ----------
    parameters : dict of str to dict of str to float
        Per tool, the values of its parameters (the toolbar sets them; defaults from the registry).

    Signals
    -------
    tool_changed(str)
        The current tool (one of :data:`TOOLS`).
    label_picked(int)
        Ctrl+click picked this label as the active label.
    intensity_picked(float)
        Shift+click with an intensity-range tool: the clicked voxel's intensity.
    preview_changed(bool)
        A previewed change is waiting for Apply (True) or is gone (False).
    """

    tool_changed = Signal(str)
    label_picked = Signal(int)
    intensity_picked = Signal(float)
    preview_changed = Signal(bool)

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.bridge = None
        self.tool = "navigate"
        self.parameters: dict[str, dict[str, float]] = {spec.name: spec.defaults() for spec in TOOL_SPECS}
        self._dragging: str | None = None  # the tool of the drag in progress
        self._lasso_points: list[np.ndarray] = []
        self._space_held = False
        self.cursor = BrushCursor()
        self.lasso = LassoPath()
        self.preview = ToolPreview()
        view.view_box.addItem(self.cursor, ignoreBounds=True)
        view.view_box.addItem(self.lasso, ignoreBounds=True)
        view.view_box.addItem(self.preview, ignoreBounds=True)
        view.state.slice_changed.connect(self._on_slice_shown)
        view.state.axis_changed.connect(self._on_slice_shown)
        self._viewport = view.graphics.viewport()
        view.graphics.installEventFilter(self)
        self._viewport.installEventFilter(self)
        self._viewport.setMouseTracking(True)

    # -------------------------------------------------------------- settings
    @property
    def spec(self):
        """The :class:`~app.model.tools.ToolSpec` of the current tool."""
        return tool_spec(self.tool)

    def set_bridge(self, bridge) -> None:
        """Edit through ``bridge`` (an :class:`~app.qt.edit_bridge.EditBridge`), or nothing when None."""
        self.finish_drag()
        self.drop_preview()
        self.bridge = bridge
        self.refresh_cursor()

    def set_tool(self, tool: str) -> None:
        """Choose a tool (one of :data:`TOOLS`); a drag in progress is finished and a preview dropped first."""
        tool_spec(tool)
        if tool != self.tool:
            self.finish_drag()
            self.drop_preview()
            self.tool = tool
            self.refresh_cursor()
            self.tool_changed.emit(tool)

    def refresh_cursor(self) -> None:
        """Redraw the brush outline (and the mouse cursor) after a change of tool, label, target or radius."""
        session = self.bridge.session if self.bridge is not None else None
        cursor = self.spec.cursor
        if cursor == "cross" and session is not None:
            self._viewport.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self._viewport.unsetCursor()  # the view's own cursor (pyqtgraph's while panning)
        if session is None or cursor not in ("brush", "eraser"):
            self.cursor.hide()
            return
        self.cursor.set_radius(session.brush_radius_mm)
        self.cursor.set_style(self.label_color(session.active_label), session.target, cursor == "eraser")

    def label_color(self, label: int) -> tuple[int, int, int]:
        """Display colour of ``label`` in the current case (light grey for background)."""
        case = self.view.state.case
        if case is None or label == 0:
            return BACKGROUND_COLOR
        return tuple(int(v) for v in case.labels.color(label))

    # -------------------------------------------------- mouse, in view mm
    def press(self, position: QPointF, modifiers=Qt.KeyboardModifier.NoModifier) -> bool:
        """Left-button press at view position ``position`` (mm); True when a tool used it."""
        if self.bridge is None or self.view.frame is None:
            return False
        point = self._point(position)
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self._pick_label(point)
            return True
        spec = self.spec
        if modifiers & Qt.KeyboardModifier.ShiftModifier and spec.uses_intensity_range:
            return self._pick_intensity(point)
        if spec.gesture == "none" or self._space_held:
            return False
        axis = self.view.axis
        if spec.gesture == "stroke":
            self._dragging = self.tool
            self.bridge.begin_stroke(point, axis, erase=spec.erases)
        elif spec.gesture == "click":
            self._click(point, axis)
        else:  # lasso
            self._dragging = self.tool
            self._lasso_points = [point]
            session = self.bridge.session
            self.lasso.start(position, outline_pen(self.label_color(session.active_label), session.target))
        return True

    def move(self, position: QPointF) -> bool:
        """Mouse move to ``position`` (mm): the outline follows; a drag paints or extends the lasso."""
        if self.spec.cursor in ("brush", "eraser") and self.bridge is not None:
            self.cursor.move_to(position)
        if self._dragging is None:
            return False
        point = self._point(position)
        if tool_spec(self._dragging).gesture == "stroke":
            self.bridge.paint_segment(point)
        else:
            self._lasso_points.append(point)
            self.lasso.add(position)
        return True

    def release(self, position: QPointF) -> bool:
        """Left-button release: the drag ends (one undo step), a lasso is filled."""
        if self._dragging is None:
            return False
        self.move(position)
        self.finish_drag()
        return True

    def finish_drag(self) -> None:
        """End a drag in progress (release, tool or case change, focus lost)."""
        dragging, self._dragging = self._dragging, None
        if dragging is None:
            return
        if tool_spec(dragging).gesture == "stroke":
            if self.bridge is not None:
                self.bridge.end_stroke()
            return
        points, self._lasso_points = self._lasso_points, []
        self.lasso.finish()
        if self.bridge is not None and len(points) >= 3:
            self.bridge.run_tool(dragging, np.stack(points), self.view.axis, self.parameters[dragging],
                                 confirm=self.ask_large_change)

    # ------------------------------------------------------------ previews
    @Slot()
    def apply_preview(self) -> None:
        """Write the previewed change (one undo step); nothing when there is none."""
        change = self.preview.change
        self.drop_preview()
        if change is not None and self.bridge is not None:
            self.bridge.apply_change(change, confirm=self.ask_large_change)

    @Slot()
    def drop_preview(self) -> None:
        """Forget the previewed change."""
        if self.preview.change is not None:
            self.preview.show_change(None, BACKGROUND_COLOR, self.view)
            self.preview_changed.emit(False)

    @property
    def has_preview(self) -> bool:
        """Whether a previewed change waits for Apply."""
        return self.preview.change is not None

    def ask_large_change(self, voxels: int) -> bool:
        """Whether to write a change of ``voxels`` voxels, larger than the tool allows unasked: the window's
        ``ask_large_change`` question (tests replace that method)."""
        return bool(QWidget.window(self.view).ask_large_change(voxels))  # SliceView.window is the intensity window

    # ------------------------------------------------------------ internals
    def _click(self, point: np.ndarray, axis: int) -> None:
        spec = self.spec
        params = self.parameters[spec.name]
        if not spec.previews:
            self.bridge.run_tool(spec.name, point, axis, params, confirm=self.ask_large_change)
            return
        change = self.bridge.session.plan_tool(spec.name, point, axis, params)
        self.preview.show_change(change, self.label_color(self.bridge.session.active_label), self.view)
        self.preview_changed.emit(change is not None)

    @Slot(int)
    def _on_slice_shown(self, _index: int) -> None:
        if self.preview.change is not None:
            self.preview.redraw(self.view)

    def _point(self, position: QPointF) -> np.ndarray:
        view = self.view
        return view_to_index(view.frame, view.slice_index, position.x(), position.y(), view.state.case.gt.shape)

    def _pick_label(self, point: np.ndarray) -> None:
        label = self.bridge.session.label_at(point)
        if label is not None:
            self.bridge.session.active_label = label
            self.refresh_cursor()
            self.label_picked.emit(label)

    def _pick_intensity(self, point: np.ndarray) -> bool:
        image = self.bridge.session.image
        voxel = tuple(int(np.floor(v + 0.5)) for v in point)
        if image is None or not all(0 <= v < s for v, s in zip(voxel, image.shape, strict=True)):
            return False
        self.intensity_picked.emit(float(image[voxel]))
        return True

    # ------------------------------------------------------------ Qt events
    def eventFilter(self, watched, event) -> bool:  # Qt override
        """Route left-button mouse events of the viewport to the tools; track the Space key for panning."""
        viewport = getattr(self, "_viewport", None)
        if viewport is None:  # the Python side is being torn down (interpreter exit): let Qt handle it
            return False
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
                self._space_held = kind == QEvent.Type.KeyPress
            return False
        if watched is not viewport:
            return False
        if kind == QEvent.Type.Leave:
            self.cursor.hide()
            return False
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        position = self.view.view_box.mapSceneToView(self.view.graphics.mapToScene(event.position().toPoint()))
        if kind == QEvent.Type.MouseMove:
            self.move(position)
            return self._dragging is not None
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if kind == QEvent.Type.MouseButtonPress:
            return self.press(position, event.modifiers())
        return self.release(position)
