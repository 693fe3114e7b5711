"""The slice view: the image with ground truth and prediction overlaid, one slice at a time (pyqtgraph).

Reads and changes the shared :class:`~app.qt.review_state.ReviewState` (case, axis, slice, selected
class, highlighted cell) and renders only what a change touches: a new slice re-extracts three integer
slices and re-colours them through label lookup tables; a window drag only changes the image levels; a
highlight only redraws the highlight layer. Layout on screen (transposes, flips, pixel aspect in mm,
edge letters) comes from :mod:`app.orientation`; colours from :mod:`app.qt.overlay`.

Mouse: wheel steps slices (Ctrl+wheel zooms), left-drag pans (with an edit tool active, left-drag paints
and middle-drag or Space + left-drag pans; see :mod:`app.qt.edit_tools`), right-drag changes the window as
in 3D Slicer. An edit re-renders only its tile (:meth:`SliceView.update_region`). Keys are QAction
shortcuts (:attr:`SliceView.view_actions`), which the main window also puts in its menus.
The cursor readout (the voxel under the mouse) is the :class:`~app.qt.hover_readout.HoverReadout` mixin's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from app import window_level
from app.orientation import DisplayFrame, display_frame, to_screen
from app.qt import overlay
from app.qt.edge_letters import edge_labels, place_edge_labels
from app.qt.edit_tile import render_highlight_tile, render_tile, screen_rect
from app.qt.hover_readout import HoverReadout
from app.qt.overlay_legend import legend_html
from app.qt.slice_view_actions import SliceViewActions
from app.qt.slice_view_box import FIT_PADDING as _FIT_PADDING
from app.qt.slice_view_box import SliceViewBox
from app.qt.tile_repaint import show_tile
from app.qt.voxel_readout import ReadoutLabel

pg.setConfigOptions(imageAxisOrder="row-major")

_OPACITY_STEP = 0.1


class SliceView(HoverReadout, QWidget):
    """Image, overlays, slice slider and cursor readout of the case in ``state``.

    Parameters
    ----------
    state : ReviewState
        Shared selection; the view follows and changes it.
    with_actions : bool
        Own the keyboard shortcuts (:attr:`view_actions`); only one view of a window may (shortcuts of
        several views would be ambiguous). The other views of a layout follow the one with actions
        (:mod:`app.qt.view_layout`).

    Attributes
    ----------
    plane : ReviewState or app.qt.crosshair.CrosshairPlane
        Where the view's axis and slice come from (``axis``, ``slice_index``, ``slice_count()``,
        ``set_slice()``, ``axis_changed``, ``slice_changed``): the shared state itself (one view, whose
        plane the menus switch) or one fixed plane through the crosshair of linked views
        (:meth:`set_plane`).

    Signals
    -------
    overlay_settings_changed(OverlaySettings)
    window_changed(Window)
    """

    overlay_settings_changed = Signal(object)
    window_changed = Signal(object)

    def __init__(self, state, parent: QWidget | None = None, with_actions: bool = True) -> None:
        super().__init__(parent)
        self.state = state
        self.plane = state
        self.settings = overlay.OverlaySettings()
        self.window: window_level.Window | None = None
        self.frame: DisplayFrame | None = None
        self.highlight_mask: np.ndarray | None = None
        self.readout_text = ""
        self.cursor_index: tuple[int, int, int] | None = None
        """``(z, y, x)`` of the voxel last under the mouse (kept when it leaves; None after a case change)."""
        self._colors = np.zeros((1, 3), dtype=np.uint8)
        self._value_range = 1.0
        self._gt_slice: np.ndarray | None = None
        self._pred_slice: np.ndarray | None = None
        self._hovered: tuple[int, int] | None = None
        """Screen pixel ``(row, col)`` of the current plane's layout under the mouse, None when off the image."""
        self._mouse_scene_pos = None
        self._overlay_rgba: np.ndarray | None = None
        self._highlight_rgba: np.ndarray | None = None
        self.overlay_renders = 0
        """Whole-slice overlay compositions so far (slice, mode or class changes)."""
        self.tile_renders = 0
        """Painted tiles re-rendered so far (:meth:`update_region`)."""
        self._build_widgets()
        state.case_changed.connect(self._on_case_changed)
        self._connect_plane(state)
        state.selected_class_changed.connect(self._on_selected_class_changed)
        state.highlighted_cell_changed.connect(self._on_highlighted_cell_changed)
        self.view_actions = SliceViewActions(self) if with_actions else None
        if self.view_actions is not None:
            for action in self.view_actions.by_name.values():
                self.addAction(action)

    # ------------------------------------------------------------------ plane
    @property
    def axis(self) -> int:
        """Array axis of the slices shown (0 axial, 1 coronal, 2 sagittal with an identity direction)."""
        return self.plane.axis

    @property
    def slice_index(self) -> int:
        """The slice shown along :attr:`axis`."""
        return self.plane.slice_index

    def set_plane(self, plane) -> None:
        """Show the slices of ``plane`` (see :attr:`plane`) from now on; the view re-lays out at once."""
        if plane is self.plane:
            return
        self.plane.axis_changed.disconnect(self._on_axis_changed)
        self.plane.slice_changed.disconnect(self._on_slice_changed)
        self.plane = plane
        self._connect_plane(plane)
        self._on_axis_changed(plane.axis)

    def _connect_plane(self, plane) -> None:
        plane.axis_changed.connect(self._on_axis_changed)
        plane.slice_changed.connect(self._on_slice_changed)

    # ----------------------------------------------------------------- widgets
    def _build_widgets(self) -> None:
        self.graphics = pg.GraphicsView(background="k")
        self.view_box = SliceViewBox()
        self.graphics.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem()
        self.overlay_item = pg.ImageItem()
        self.highlight_item = pg.ImageItem()
        for depth, item in enumerate((self.image_item, self.overlay_item, self.highlight_item)):
            item.setZValue(depth)
            self.view_box.addItem(item)
        self.view_box.wheel_stepped.connect(self.step_slice)
        self.view_box.window_dragged.connect(self._on_window_dragged)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.edge_labels = edge_labels(self.graphics)
        # Drawn in the scene (not a QLabel over it) so that changing it each slice costs no extra paint.
        self.info_item = pg.TextItem(anchor=(0, 0), color="#f0f0f0", fill=pg.mkBrush(0, 0, 0, 150))
        self.info_item.setZValue(1000)
        self.info_item.setPos(4, 4)
        self.graphics.scene().addItem(self.info_item)
        self.info_text = ""
        self.legend_label = QLabel()
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.slice_label = QLabel("–")
        self.slice_label.setMinimumWidth(90)
        self.readout_label = ReadoutLabel(" ")   # elided: a long label name must not widen the window
        self.readout_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.slider_row = QWidget()
        slider_row = QHBoxLayout(self.slider_row)
        slider_row.setContentsMargins(0, 0, 0, 0)
        slider_row.addWidget(QLabel("Slice"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.slice_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.legend_label)
        layout.addWidget(self.slider_row)
        layout.addWidget(self.readout_label)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def resizeEvent(self, event) -> None:
        """Keep the edge letters at the edges of the image area."""
        super().resizeEvent(event)
        self._place_overlay_labels()

    def _place_overlay_labels(self) -> None:
        place_edge_labels(self.edge_labels, self.graphics.width(), self.graphics.height())

    # ------------------------------------------------------------ state slots
    def _on_case_changed(self, case) -> None:
        self._colors = overlay.label_colors(case.labels, case.num_classes)
        if case.image is None:
            self.window = None
        else:
            self.window = (window_level.Window(255.0, 127.5) if case.image.ndim == 4
                           else window_level.initial_window(case.image))
            self._value_range = window_level.value_range(case.image)
        self._hovered = None
        self.cursor_index = None
        self._on_axis_changed(self.plane.axis)

    def _on_axis_changed(self, axis: int) -> None:
        case = self.state.case
        if case is None:
            return
        geometry = case.geometry
        self.frame = display_frame(geometry.direction, geometry.spacing_zyx, axis)
        # The hovered screen pixel belongs to the previous plane's layout (another shape and pixel size):
        # forget it before anything renders, and map the mouse again once the new plane is laid out.
        rehover = self._hovered is not None
        self._hovered = None
        # One image pixel = one voxel of col_mm x row_mm (set as a scale, not ImageItem.setRect, which
        # depends on the image an item holds at the time and so breaks for the empty highlight layer).
        pixel_size = QTransform.fromScale(self.frame.col_mm, self.frame.row_mm)
        for item in (self.image_item, self.overlay_item, self.highlight_item):
            item.setTransform(pixel_size)
        two_dimensional = case.gt.shape[0] == 1
        for name, label in self.edge_labels.items():
            label.setText("" if two_dimensional else getattr(self.frame, name))
        self._place_overlay_labels()
        count = self.plane.slice_count()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(self.plane.slice_index)
        self.slider.blockSignals(False)
        self.slider_row.setVisible(not two_dimensional)
        self._render_slice()
        self.view_box.autoRange(padding=_FIT_PADDING)
        if rehover and self._mouse_scene_pos is not None:
            self._on_mouse_moved(self._mouse_scene_pos)

    def _on_slice_changed(self, index: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._render_slice()

    def _on_selected_class_changed(self, label: int) -> None:
        if ((self.settings.mode == "errors" and not self.settings.errors_of_all_classes)
                or (self.settings.mode != "errors" and self.settings.only_selected)):
            self._render_overlay()
        self.legend_label.setText(legend_html(self.settings, self.state))

    def _on_highlighted_cell_changed(self, cell) -> None:
        self._render_highlight()

    def _on_slider_moved(self, value: int) -> None:
        self.plane.set_slice(value)

    # --------------------------------------------------------------- commands
    def step_slice(self, steps: int) -> None:
        """Move this view ``steps`` slices (negative: back), clamped to the volume (the wheel)."""
        self.plane.set_slice(self.plane.slice_index + steps)

    def next_slice(self) -> None:
        """One slice forward in the view in focus (PageDown; the shared state's plane)."""
        self.state.set_slice(self.state.slice_index + 1)

    def previous_slice(self) -> None:
        """One slice back in the view in focus (PageUp)."""
        self.state.set_slice(self.state.slice_index - 1)

    def set_overlay_settings(self, settings: overlay.OverlaySettings) -> None:
        """Show the overlay as ``settings`` say (mode, which masks, opacity, error-map scope)."""
        if settings != self.settings:
            self.settings = settings
            self._render_overlay()
            self.overlay_settings_changed.emit(settings)

    def change_opacity(self, delta: float) -> None:
        """Make filled labels more (positive ``delta``) or less opaque, within [0, 1]."""
        opacity = round(min(max(self.settings.opacity + delta, 0.0), 1.0), 3)
        self.set_overlay_settings(replace(self.settings, opacity=opacity))

    def more_opaque(self) -> None:
        """Opacity up one step (])."""
        self.change_opacity(_OPACITY_STEP)

    def less_opaque(self) -> None:
        """Opacity down one step ([)."""
        self.change_opacity(-_OPACITY_STEP)

    def set_window(self, window: window_level.Window) -> None:
        """Display intensities through ``window`` (ignored without an image)."""
        if self.state.case is None or self.state.case.image is None:
            return
        self.window = window
        self.image_item.setLevels(window.levels)
        self._update_info()
        self.window_changed.emit(window)

    def apply_auto_window(self) -> None:
        """Percentile window of the whole image (MR, microscopy)."""
        case = self.state.case
        if case is not None and case.image is not None and case.image.ndim == 3:
            self.set_window(window_level.auto_window(case.image))

    def apply_preset(self, name: str) -> None:
        """A CT window preset from :data:`app.window_level.CT_PRESETS`."""
        self.set_window(window_level.Window(*window_level.CT_PRESETS[name]))

    def fit_view(self) -> None:
        """Zoom so the whole slice fits."""
        self.view_box.autoRange(padding=_FIT_PADDING)

    def _on_window_dragged(self, dx: float, dy: float) -> None:
        if self.window is not None:
            self.set_window(self.window.dragged(dx, dy, self._value_range))

    # -------------------------------------------------------------- rendering
    def _slice_of(self, volume: np.ndarray) -> np.ndarray:
        """Current slice of ``volume`` (``(z, y, x)`` or ``(z, y, x, 3)``) laid out as on screen (a view)."""
        index = [slice(None)] * volume.ndim
        index[self.plane.axis] = self.plane.slice_index
        return to_screen(volume[tuple(index)], self.frame)

    def _render_slice(self) -> None:
        """Re-extract and redraw everything that depends on the slice."""
        case = self.state.case
        if case is None or self.frame is None:
            return
        self._gt_slice = self._slice_of(case.gt)
        self._pred_slice = self._slice_of(case.pred)
        if case.image is None:
            self.image_item.setImage(np.zeros(self._gt_slice.shape, dtype=np.uint8), levels=(0, 1))
        else:
            self.image_item.setImage(self._slice_of(case.image), autoLevels=False, levels=self.window.levels)
        self._render_overlay()
        self._render_highlight()
        count = self.plane.slice_count()
        self.slice_label.setText(f"{self.plane.slice_index} / {max(count - 1, 0)}")
        self._update_info()
        if self._hovered is not None:
            self._update_readout(*self._hovered)

    def _render_overlay(self) -> None:
        if self._gt_slice is None:
            return
        self._overlay_rgba = overlay.compose(self._gt_slice, self._pred_slice, self.settings, self._colors,
                                             self.state.selected_class, self._scored_slices())
        self.overlay_renders += 1
        self.overlay_item.setImage(self._overlay_rgba, autoLevels=False, levels=None)
        self.legend_label.setText(legend_html(self.settings, self.state))

    def update_region(self, region) -> None:
        """Re-render the overlay (and highlight) only where an edit of box ``region`` ``(z, y, x)`` shows.

        Nothing happens when the box does not cross the slice shown (a 3D brush's other slices).
        The slices shown are views of the case's masks, so they already hold the edit.
        """
        if self._overlay_rgba is None or self.frame is None:
            return
        rect = screen_rect(self.frame, region, self.plane.slice_index, self.state.case.gt.shape)
        if rect is None:
            return
        scored = self._scored_slices()
        written = render_tile(self._overlay_rgba, self._gt_slice, self._pred_slice, rect, self.settings,
                              self._colors, self.state.selected_class, scored)
        self.tile_renders += 1
        show_tile(self.overlay_item, self._overlay_rgba, written)
        cell = self.state.highlighted_cell
        if cell is not None and self.highlight_mask is not None:
            render_highlight_tile(self.highlight_mask, self._highlight_rgba,
                                  *((self._gt_slice, self._pred_slice) if scored is None else scored), rect, cell)
            show_tile(self.highlight_item, self._highlight_rgba, rect)

    def _render_highlight(self) -> None:
        cell = self.state.highlighted_cell
        if self._gt_slice is None or cell is None:
            self.highlight_mask = None
            self.highlight_item.clear()
            return
        scored = self._scored_slices()
        self.highlight_mask, self._highlight_rgba = overlay.highlight(
            *((self._gt_slice, self._pred_slice) if scored is None else scored), cell)
        self.highlight_item.setImage(self._highlight_rgba, autoLevels=False, levels=None)

    def _scored_slices(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The table's classes on the slice shown when the masks hold other labels (instance ids), else None."""
        source = self.state.scored_slices_source
        return None if source is None else source(self._gt_slice, self._pred_slice, self._slice_of)

    def _update_info(self) -> None:
        if self.frame is None:
            return
        count = self.plane.slice_count()
        if self.state.case.gt.shape[0] == 1:
            parts = ["2D image"]
        else:
            parts = [f"{self.frame.plane.capitalize()} slice {self.plane.slice_index} (0–{max(count - 1, 0)})"]
        if self.window is not None:
            parts.append(f"W {self.window.width:.4g}  L {self.window.level:.4g}")
        self.info_text = "   ".join(parts)
        self.info_item.setText(self.info_text)
