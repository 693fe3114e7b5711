"""The edit toolbar's tool options, built from the registered tools' parameters and shown per tool.

Each :class:`~app.model.tools.ParameterSpec` of each tool becomes a spin box (or a combo box for a
choice) in the toolbar, visible only while its tool is chosen; values go to
``EditTools.parameters[tool][name]``. The editable intensity range (brush, fill, lasso, threshold) is
one more group: a check box that switches it on for brush/fill/lasso, low and high spin boxes around the
image's histogram (drag its band to set both), and the ± half width that Shift+click uses to centre the
range on the clicked voxel's intensity.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel

from app.model.tools import TOOL_SPECS
from app.qt.range_histogram import RangeHistogram
from app.window_level import initial_window

INTENSITY_LIMIT = 1e7
"""Spin box bounds of intensities (CT in HU, MR in arbitrary units, float images)."""


def _spin(minimum: float, maximum: float, step: float, decimals: int, value: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    return spin


class ToolParameterWidgets(QObject):
    """Adds the tools' option widgets to ``toolbar`` and keeps the current tool's visible.

    Parameters
    ----------
    toolbar : QToolBar
    tools : EditTools

    Attributes
    ----------
    widgets : dict of (str, str) to QWidget
        ``(tool, parameter)`` -> its spin or combo box.
    range_check : QCheckBox
        Editable intensity range on (brush, fill, lasso).
    low_spin, high_spin, half_width_spin : QDoubleSpinBox
        The range and the ± half width used by Shift+click.
    """

    def __init__(self, toolbar, tools) -> None:
        super().__init__(toolbar)
        self.tools = tools
        self._actions_by_tool: dict[str, list] = {spec.name: [] for spec in TOOL_SPECS}
        self.widgets: dict[tuple[str, str], object] = {}
        for spec in TOOL_SPECS:
            for parameter in spec.parameters:
                label = toolbar.addWidget(QLabel(f" {parameter.text} "))
                widget = self._widget(spec.name, parameter)
                self.widgets[(spec.name, parameter.name)] = widget
                self._actions_by_tool[spec.name] += [label, toolbar.addWidget(widget)]
        self.range_check = QCheckBox("Range")
        self.range_check.setToolTip("Brush, fill and lasso change only voxels whose intensity is in "
                                    "[low, high] (Shift+click a voxel: its intensity ± the half width)")
        self.low_spin = _spin(-INTENSITY_LIMIT, INTENSITY_LIMIT, 10.0, 1, -100.0, "Lowest intensity changed")
        self.high_spin = _spin(-INTENSITY_LIMIT, INTENSITY_LIMIT, 10.0, 1, 300.0, "Highest intensity changed")
        self.half_width_spin = _spin(0.0, INTENSITY_LIMIT, 10.0, 1, 50.0,
                                     "Shift+click: the range becomes the clicked intensity ± this")
        self.half_width_spin.setPrefix("±")
        self.histogram = RangeHistogram()
        self.histogram.range_dragged.connect(self.set_range)
        self._range_actions = [toolbar.addWidget(w) for w in (self.range_check, self.low_spin, self.histogram,
                                                               self.high_spin, self.half_width_spin)]
        for widget in (self.low_spin, self.high_spin):
            widget.valueChanged.connect(self.apply)
        self.range_check.toggled.connect(self.apply)
        tools.tool_changed.connect(self.show_tool)
        tools.intensity_picked.connect(self.centre_range)
        self.show_tool(tools.tool)

    def actions_of(self, tool: str) -> list:
        """The toolbar actions holding ``tool``'s option widgets."""
        return list(self._actions_by_tool[tool])

    def _widget(self, tool: str, parameter):
        if parameter.choices:
            combo = QComboBox()
            combo.addItems(list(parameter.choices))
            combo.setCurrentIndex(int(parameter.default))
            combo.setToolTip(parameter.tip)
            combo.setProperty("tool_parameter", (tool, parameter.name))
            combo.currentIndexChanged.connect(self._on_value_changed)
            return combo
        spin = _spin(parameter.minimum, parameter.maximum, parameter.step, parameter.decimals, parameter.default,
                     parameter.tip)
        if parameter.unit:
            spin.setSuffix(f" {parameter.unit}")
        if parameter.off_text:
            spin.setSpecialValueText(parameter.off_text)
        spin.setProperty("tool_parameter", (tool, parameter.name))
        spin.valueChanged.connect(self._on_value_changed)
        return spin

    @Slot(int)
    @Slot(float)
    def _on_value_changed(self, value) -> None:
        # A bound slot reading its sender, not a lambda per widget: closures over self would make reference
        # cycles that the garbage collector breaks at any moment, which crashes Qt.
        tool, name = self.sender().property("tool_parameter")
        self.tools.parameters[tool][name] = float(value)

    def set_unit(self, unit: str) -> None:
        """Show ``"mm"`` parameters in ``unit`` (``"px"`` on images without a pixel size)."""
        for spec in TOOL_SPECS:
            for parameter in spec.parameters:
                if parameter.unit == "mm" and not parameter.choices:
                    self.widgets[(spec.name, parameter.name)].setSuffix(f" {unit}")

    def set_enabled(self, enabled: bool, has_image: bool) -> None:
        """Enable the options (the range needs a scalar image)."""
        for widget in self.widgets.values():
            widget.setEnabled(enabled)
        for action in self._range_actions:
            action.setEnabled(enabled and has_image)

    def start_range_for(self, image) -> None:
        """A new case's starting range: the bright half of the window it opens with (``[level, white]``:
        soft tissue and contrast on CT), never the whole intensity span (a threshold would fill the slice)."""
        window = initial_window(image)
        self.histogram.set_image(image)
        self.set_range(window.level, window.levels[1])

    @Slot(float, float)
    def set_range(self, low: float, high: float) -> None:
        """Set the range's low and high (the histogram's band dragged, a new case)."""
        for spin, value in ((self.low_spin, low), (self.high_spin, high)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.apply()

    @Slot(str)
    def show_tool(self, tool: str) -> None:
        """Show the options of ``tool`` only."""
        for name, actions in self._actions_by_tool.items():
            for action in actions:
                action.setVisible(name == tool)
        uses_range = any(spec.name == tool and spec.uses_intensity_range for spec in TOOL_SPECS)
        for action in self._range_actions:
            action.setVisible(uses_range)

    @Slot(float)
    def centre_range(self, intensity: float) -> None:
        """Shift+click: the range becomes ``intensity`` ± the half width, and is switched on."""
        half = self.half_width_spin.value()
        self.low_spin.setValue(intensity - half)
        self.high_spin.setValue(intensity + half)
        self.range_check.setChecked(True)
        self.apply()

    @Slot()
    def apply(self) -> None:
        """Push the range into the session: on for brush/fill/lasso when checked; threshold always reads it."""
        low, high = sorted((self.low_spin.value(), self.high_spin.value()))
        self.histogram.set_range(low, high)
        self.tools.parameters["threshold"].update(low=low, high=high)
        if self.tools.bridge is not None:
            self.tools.bridge.session.intensity_range = (low, high) if self.range_check.isChecked() else None
