"""The slice view's keyboard shortcuts and menu entries, as QActions kept in step with the view.

One :class:`SliceViewActions` per view: the main window puts the same actions in its View menu and
lists them in Help → Keyboard shortcuts, so keys, menus and help never disagree.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from app.orientation import PLANE_NAMES, array_axis_for_plane, plane_name
from app.qt.overlay import OVERLAY_MODES
from app.window_level import CT_PRESETS

_MODE_TEXT = {"filled": "&Filled labels", "contours": "&Contours", "errors": "&Error map (TP / FP / FN)"}
_MODE_KEYS = {"filled": "F", "contours": "C", "errors": "E"}
_PLANE_KEYS = {"axial": "Ctrl+1", "coronal": "Ctrl+2", "sagittal": "Ctrl+3"}


class SliceViewActions(QObject):
    """QActions of one :class:`~app.qt.slice_view.SliceView`.

    Attributes
    ----------
    by_name : dict of str to QAction
        Every action with a shortcut, by a stable name (``"next_slice"``, ``"mode_errors"``, ...).
    planes : dict of str to QAction
        Axial / coronal / sagittal (checkable, exclusive).
    modes : dict of str to QAction
        Overlay modes (checkable, exclusive).
    presets : dict of str to QAction
        CT window presets.
    """

    def __init__(self, view) -> None:
        super().__init__(view)
        self._view = view
        self.by_name: dict[str, QAction] = {}
        self._add("previous_slice", "&Previous slice", QKeySequence.StandardKey.MoveToPreviousPage,
                  view.previous_slice)
        self._add("next_slice", "&Next slice", QKeySequence.StandardKey.MoveToNextPage, view.next_slice)

        self.planes: dict[str, QAction] = {}
        plane_group = QActionGroup(self)
        for plane in PLANE_NAMES:
            action = self._add(f"plane_{plane}", plane.capitalize(), _PLANE_KEYS[plane], None, checkable=True)
            action.setData(plane)
            plane_group.addAction(action)
            self.planes[plane] = action
        plane_group.triggered.connect(self._on_plane_triggered)

        self.modes: dict[str, QAction] = {}
        mode_group = QActionGroup(self)
        for mode in OVERLAY_MODES:
            action = self._add(f"mode_{mode}", _MODE_TEXT[mode], _MODE_KEYS[mode], None, checkable=True)
            action.setData(mode)
            mode_group.addAction(action)
            self.modes[mode] = action
        mode_group.triggered.connect(self._on_mode_triggered)

        self._add("errors_all_classes", "Error map of &all classes", "A", self._on_errors_scope_toggled,
                  checkable=True)
        self._add("show_gt", "Show &ground truth", "G", self._on_show_gt_toggled, checkable=True)
        self._add("show_pred", "Show p&rediction", "P", self._on_show_pred_toggled, checkable=True)
        self._add("more_opaque", "More opaque", "]", view.more_opaque)
        self._add("less_opaque", "Less opaque", "[", view.less_opaque)
        self._add("auto_window", "&Automatic window (percentiles)", "W", view.apply_auto_window)
        self._add("fit_view", "Fit slice to view", "Home", view.fit_view)

        self.presets: dict[str, QAction] = {}
        preset_group = QActionGroup(self)
        preset_group.setExclusive(False)
        for name, (width, level) in CT_PRESETS.items():
            action = QAction(f"CT {name.lower()} (W {width:g}, L {level:g})", self)
            action.setData(name)
            preset_group.addAction(action)
            self.presets[name] = action
        preset_group.triggered.connect(self._on_preset_triggered)

        view.overlay_settings_changed.connect(self.sync)
        view.state.axis_changed.connect(self._on_axis_changed)
        view.state.case_changed.connect(self._on_case_changed)
        self.sync(view.settings)

    def _add(self, name: str, text: str, shortcut, slot, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        self.by_name[name] = action
        return action

    def sync(self, settings) -> None:
        """Check the actions that match ``settings`` (after any change, from menus or code)."""
        self.modes[settings.mode].setChecked(True)
        self.by_name["errors_all_classes"].setChecked(settings.errors_of_all_classes)
        self.by_name["show_gt"].setChecked(settings.show_gt)
        self.by_name["show_pred"].setChecked(settings.show_pred)

    def _on_case_changed(self, case) -> None:
        two_dimensional = case.gt.shape[0] == 1
        for action in self.planes.values():
            action.setEnabled(not two_dimensional)
        scalar_image = case.image is not None and case.image.ndim == 3
        self.by_name["auto_window"].setEnabled(scalar_image)
        for action in self.presets.values():
            action.setEnabled(scalar_image)
        self._on_axis_changed(self._view.state.axis)

    def _on_axis_changed(self, axis: int) -> None:
        case = self._view.state.case
        if case is not None:   # the state's plane: this view's, or the focused one of linked views
            self.planes[plane_name(case.geometry.direction, axis)].setChecked(True)

    def _on_plane_triggered(self, action: QAction) -> None:
        """Show the chosen plane through the voxel last under the mouse (else its middle slice)."""
        state = self._view.state
        if state.case is None:
            return
        axis = array_axis_for_plane(state.case.geometry.direction, action.data())
        if self._view.plane is not state:   # linked views: focus the view of that plane, crosshair kept
            state.set_plane(axis, self._view.plane.crosshair.point[axis])
        elif axis != state.axis:
            cursor = self._view.cursor_index
            target = cursor[axis] if cursor is not None else state.slice_count(axis) // 2
            state.set_axis(axis)
            state.set_slice(target)

    def _on_mode_triggered(self, action: QAction) -> None:
        self._view.set_overlay_settings(replace(self._view.settings, mode=action.data()))

    def _on_errors_scope_toggled(self, checked: bool) -> None:
        self._view.set_overlay_settings(replace(self._view.settings, errors_of_all_classes=checked))

    def _on_show_gt_toggled(self, checked: bool) -> None:
        self._view.set_overlay_settings(replace(self._view.settings, show_gt=checked))

    def _on_show_pred_toggled(self, checked: bool) -> None:
        self._view.set_overlay_settings(replace(self._view.settings, show_pred=checked))

    def _on_preset_triggered(self, action: QAction) -> None:
        self._view.apply_preset(action.data())
