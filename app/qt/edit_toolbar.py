"""The edit toolbar: tools, their options, brush radius, 3D brush, active label, edit target, locks, undo/redo.

The tool buttons and their options are built from the registered tools (:data:`~app.model.tools.TOOL_SPECS`).

The toolbar holds the edit settings and applies them to the session of each opened case
(:meth:`EditToolbar.set_bridge`), so they survive opening another case. The edit target
(prediction by default, or ground truth) is always visible here and in the brush outline's style.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QMenu, QSlider, QToolBar, QToolButton

from app.model.tools import TOOL_SPECS
from app.qt.label_colors import class_colors, class_names, swatch_icon
from app.qt.tool_parameters import ToolParameterWidgets
from app.qt.voxel_readout import distance_unit

TARGETS = (("pred", "Edit: prediction"), ("gt", "Edit: ground truth"))
GT_TARGET_STYLE = "QComboBox { font-weight: bold; color: #ffb74d; }"
"""The ground truth as edit target is shown in orange bold (editing it changes the reference)."""
RADIUS_RANGE_MM = (0.25, 50.0)
RADIUS_STEP_MM = 0.5


class EditToolbar(QToolBar):
    """Toolbar of the slice view's :class:`~app.qt.edit_tools.EditTools`.

    Signals
    -------
    locks_changed(object)
        The locked labels changed: a ``frozenset`` of labels (for a label list showing locks).

    Attributes
    ----------
    tool_actions : dict of str to QAction
        One checkable action per tool (exclusive).
    actions_by_name : dict of str to QAction
        Every action with a shortcut (tools, undo, redo, brush size, 3D, background only), for the
        Edit menu and Help → Keyboard shortcuts.
    """

    locks_changed = Signal(object)

    def __init__(self, tools, parent=None) -> None:
        super().__init__("Edit", parent)
        self.setObjectName("edit_toolbar")
        self.tools = tools
        self.bridge = None
        self._announced_locks: frozenset[int] = frozenset()
        self.actions_by_name: dict[str, QAction] = {}
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for spec in TOOL_SPECS:
            action = self._action(f"tool_{spec.name}", spec.text, spec.key, spec.tip, checkable=True)
            action.setIcon(QIcon.fromTheme(spec.icon))  # shown in the Edit menu where the theme has it
            action.setData(spec.name)
            group.addAction(action)
            self.addAction(action)
            self.tool_actions[spec.name] = action
        self.tool_actions["navigate"].setChecked(True)
        group.triggered.connect(self._on_tool_triggered)
        tools.tool_changed.connect(self._on_tool_changed)
        tools.label_picked.connect(self._on_label_picked)
        # The brush size and the chosen tool's options sit in a second row (the window adds it below this
        # one): with ten tools, one row would push undo/redo off a 1280-pixel screen.
        self.options_bar = QToolBar("Tool options", parent)
        self.options_bar.setObjectName("edit_options_toolbar")
        self._build_radius()
        self.options = ToolParameterWidgets(self.options_bar, tools)
        self.apply_preview_action = self._action("apply_preview", "&Apply preview", "Return",
                                                 "Write the previewed change (grow from seed)",
                                                 slot=tools.apply_preview)
        self.drop_preview_action = self._action("drop_preview", "&Drop preview", "Escape",
                                                "Forget the previewed change", slot=tools.drop_preview)
        self.options_bar.addAction(self.apply_preview_action)
        self.options_bar.addAction(self.drop_preview_action)
        tools.preview_changed.connect(self._on_preview_changed)
        self._on_tool_changed(tools.tool)
        self.addSeparator()

        self.label_combo = QComboBox()
        self.label_combo.setToolTip("Active label (Ctrl+click a voxel to pick its label)")
        self.label_combo.setMinimumContentsLength(14)
        # As wide as 14 characters whatever the names (a 100-character name would push the toolbar off screen);
        # the list that drops down is as wide as the names.
        self.label_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.label_combo.currentIndexChanged.connect(self._apply)
        self.addWidget(self.label_combo)
        self.target_combo = QComboBox()
        for which, text in TARGETS:
            self.target_combo.addItem(text, which)
        self.target_combo.setToolTip("Which mask the tools edit. Brush outline: solid = prediction, "
                                     "dashed = ground truth.")
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # "ground truth" whole
        self.target_combo.currentIndexChanged.connect(self._apply)
        self.addWidget(self.target_combo)
        self.protect_menu = QMenu("Locked labels", self)
        self.protect_menu.triggered.connect(self._apply)
        self.protect_button = QToolButton()
        self.protect_button.setText("Lock")
        self.protect_button.setToolTip("Locked labels: no tool changes their voxels (the eraser included)")
        self.protect_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.protect_button.setMenu(self.protect_menu)
        self.addWidget(self.protect_button)
        self.background_only_action = self._action(
            "background_only", "Over background only", "Shift+O", "Paint only where the mask is background",
            checkable=True, slot=self._apply)
        self.addAction(self.background_only_action)
        self.addSeparator()
        self.undo_action = self._action("undo", "&Undo", QKeySequence.StandardKey.Undo, "Undo the last edit",
                                        slot=self._on_undo)
        self.redo_action = self._action("redo", "&Redo", "Ctrl+Shift+Z", "Redo the last undone edit",
                                        slot=self._on_redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        self.set_bridge(None, None)

    def _build_radius(self) -> None:
        """Brush radius (slider, spin box, -/= keys) and the 3D switch, first in the options row."""
        self.options_bar.addWidget(QLabel(" Radius "))
        self.radius_spin = QDoubleSpinBox()
        self.radius_spin.setRange(*RADIUS_RANGE_MM)
        self.radius_spin.setSingleStep(RADIUS_STEP_MM)
        self.radius_spin.setSuffix(" mm")
        self.radius_spin.setValue(3.0)
        self.radius_spin.setToolTip("Brush radius in millimetres (- / = to change)")
        self.radius_slider = QSlider(Qt.Orientation.Horizontal)
        self.radius_slider.setRange(1, int(RADIUS_RANGE_MM[1] / RADIUS_STEP_MM))
        self.radius_slider.setMaximumWidth(80)   # the toolbar fits a 1280-pixel screen
        self.radius_slider.setValue(round(3.0 / RADIUS_STEP_MM))
        self.radius_slider.valueChanged.connect(self._on_radius_slider)
        self.radius_spin.valueChanged.connect(self._on_radius_changed)
        self.options_bar.addWidget(self.radius_slider)
        self.options_bar.addWidget(self.radius_spin)
        self._action("smaller_brush", "Smaller brush", "-", "Brush radius down", slot=self.smaller_brush)
        self._action("bigger_brush", "Bigger brush", "=", "Brush radius up", slot=self.bigger_brush)
        self.sphere_action = self._action("sphere", "3D", "Shift+B", "3D brush: a sphere across slices "
                                          "instead of a disc on the slice", checkable=True, slot=self._apply)
        self.options_bar.addAction(self.sphere_action)
        self.options_bar.addSeparator()


    def _action(self, name, text, key, tip, checkable=False, slot=None) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setToolTip(f"{tip} ({QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        self.actions_by_name[name] = action
        return action

    # -------------------------------------------------------------- binding
    def set_bridge(self, bridge, case) -> None:
        """Edit ``case`` through ``bridge`` (None: no case; everything disabled)."""
        if self.bridge is not None:
            self.bridge.history_changed.disconnect(self._update_history_actions)
        self.bridge = bridge
        self.label_combo.blockSignals(True)
        previous = self.label_combo.currentData()
        self.label_combo.clear()
        self.protect_menu.clear()
        if case is not None:
            names, colors = class_names(case, case.num_classes), class_colors(case, case.num_classes)
            for label, (name, rgb) in enumerate(zip(names, colors, strict=True)):
                self.label_combo.addItem(swatch_icon(rgb), f"{label} {name}", label)
                # A menu entry's '&' marks its shortcut letter: double it to show a name literally.
                action = self.protect_menu.addAction(swatch_icon(rgb), f"{label} {name}".replace("&", "&&"))
                action.setCheckable(True)
                action.setData(label)
            default = previous if isinstance(previous, int) and previous < case.num_classes else min(
                1, case.num_classes - 1)
            self.label_combo.setCurrentIndex(default)
        self.label_combo.blockSignals(False)
        unit = distance_unit(case)
        self.radius_spin.setSuffix(f" {unit}")
        self.radius_spin.setToolTip(f"Brush radius in {'millimetres' if unit == 'mm' else 'pixels'} (- / = to change)")
        for widget in [*self.findChildren(QComboBox), self.radius_spin, self.radius_slider, self.protect_button]:
            widget.setEnabled(bridge is not None)
        for action in self.actions_by_name.values():
            action.setEnabled(bridge is not None)
        has_image = bridge is not None and bridge.session.image is not None
        for spec in TOOL_SPECS:
            self.tool_actions[spec.name].setEnabled(bridge is not None and (has_image or not spec.needs_image))
        if bridge is not None and not self.tool_actions[self.tools.tool].isEnabled():
            self.tools.set_tool("navigate")  # e.g. threshold chosen, then a case without an image opened
        self.options.set_enabled(bridge is not None, has_image)
        if has_image:
            self.options.start_range_for(bridge.session.image)
        self.options.set_unit(unit)
        self._on_preview_changed(False)
        if bridge is not None:
            bridge.history_changed.connect(self._update_history_actions)
        self.tools.set_bridge(bridge)
        self._apply()

    @Slot()
    def _apply(self) -> None:
        """Push the toolbar's settings into the session and the brush outline."""
        which = self.target_combo.currentData()
        self.target_combo.setStyleSheet(GT_TARGET_STYLE if which == "gt" else "")
        if self.bridge is not None:
            session = self.bridge.session
            session.brush_radius_mm = self.radius_spin.value()
            session.brush_sphere = self.sphere_action.isChecked()
            session.target = which
            session.background_only = self.background_only_action.isChecked()
            session.protected_labels = self.locked_labels()
            if self.label_combo.currentIndex() >= 0:
                session.active_label = self.label_combo.currentData()
        if self.locked_labels() != self._announced_locks:
            self._announced_locks = self.locked_labels()
            self.locks_changed.emit(self._announced_locks)
        self.options.apply()
        self.tools.refresh_cursor()
        self._update_history_actions()

    @Slot()
    def _update_history_actions(self) -> None:
        session = self.bridge.session if self.bridge is not None else None
        self.undo_action.setEnabled(session is not None and session.can_undo)
        self.redo_action.setEnabled(session is not None and session.can_redo)

    def widgets_for(self, tool: str) -> list:
        """The toolbar actions of ``tool``'s options (labels and boxes), for tests and screenshots."""
        return self.options.actions_of(tool)

    # -------------------------------------------------------------- commands
    def set_target(self, which: str) -> None:
        """Edit ``"pred"`` or ``"gt"``."""
        self.target_combo.setCurrentIndex(self.target_combo.findData(which))

    def locked_labels(self) -> frozenset[int]:
        """Labels locked now (no tool changes their voxels)."""
        return frozenset(int(a.data()) for a in self.protect_menu.actions() if a.isChecked())

    def set_locked(self, label: int, locked: bool) -> None:
        """Lock or unlock ``label`` (as its entry in the Lock menu does)."""
        for action in self.protect_menu.actions():
            if action.data() == label and action.isChecked() != locked:
                action.setChecked(locked)
                self._apply()

    def set_label(self, label: int) -> None:
        """Make ``label`` the active label."""
        self.label_combo.setCurrentIndex(self.label_combo.findData(label))

    @Slot()
    def smaller_brush(self) -> None:
        """Brush radius down one step."""
        self.radius_spin.setValue(self.radius_spin.value() - RADIUS_STEP_MM)

    @Slot()
    def bigger_brush(self) -> None:
        """Brush radius up one step."""
        self.radius_spin.setValue(self.radius_spin.value() + RADIUS_STEP_MM)

    @Slot(float)
    def _on_radius_changed(self, value: float) -> None:
        self.radius_slider.blockSignals(True)
        self.radius_slider.setValue(max(1, round(value / RADIUS_STEP_MM)))
        self.radius_slider.blockSignals(False)
        self._apply()

    @Slot(int)
    def _on_radius_slider(self, value: int) -> None:
        self.radius_spin.setValue(value * RADIUS_STEP_MM)

    @Slot(QAction)
    def _on_tool_triggered(self, action: QAction) -> None:
        self.tools.set_tool(action.data())

    @Slot(str)
    def _on_tool_changed(self, tool: str) -> None:
        self.tool_actions[tool].setChecked(True)
        previews = any(spec.name == tool and spec.previews for spec in TOOL_SPECS)
        self.apply_preview_action.setVisible(previews)    # only grow previews: keep the row short otherwise
        self.drop_preview_action.setVisible(previews)

    @Slot(bool)
    def _on_preview_changed(self, waiting: bool) -> None:
        self.apply_preview_action.setEnabled(waiting)
        self.drop_preview_action.setEnabled(waiting)

    @Slot(int)
    def _on_label_picked(self, label: int) -> None:
        self.set_label(label)

    @Slot()
    def _on_undo(self) -> None:
        self.tools.finish_drag()
        if self.bridge is not None:
            self.bridge.undo()

    @Slot()
    def _on_redo(self) -> None:
        self.tools.finish_drag()
        if self.bridge is not None:
            self.bridge.redo()
