"""The export dialog's verdict criteria fields: the four limits of :class:`app.report.verdict.VerdictCriteria`.

Defaults are those of ``dicelens report --verdict-*`` (the dataclass's); the values are remembered in the
caller's QSettings group (keys ``verdict_dice``, ``verdict_hd95``, ``verdict_volume``, ``verdict_missed_ml``).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QWidget

from app.report.verdict import VerdictCriteria

_FIELDS = (
    # (attribute, settings key, label, maximum, step, decimals, suffix, tooltip)
    ("min_mean_dice", "verdict_dice", "Mean foreground Dice \u2265", 1.0, 0.05, 2, "",
     "The verdict fails when the mean foreground Dice is below this (--verdict-dice)"),
    ("max_hd95_mm", "verdict_hd95", "HD95 of every class \u2264", 10_000.0, 1.0, 1, " mm",
     "The verdict fails when a class's 95th-percentile Hausdorff distance exceeds this (--verdict-hd95)"),
    ("max_volume_difference_percent", "verdict_volume", "|Volume difference| \u2264", 10_000.0, 5.0, 1, " %",
     "The verdict fails when a class's predicted volume differs from the ground truth's by more than this "
     "(--verdict-volume)"),
    ("max_missed_object_ml", "verdict_missed_ml", "No missed object \u2265", 100_000.0, 0.05, 3, " mL",
     "The verdict fails when a ground-truth lesion of this volume or more is missed (--verdict-missed-ml)"),
)


class CriteriaFields(QWidget):
    """Four spin boxes, one per verdict criterion, starting at the CLI's defaults."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spins: dict[str, QDoubleSpinBox] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for attribute, _key, label, maximum, step, decimals, suffix, tooltip in _FIELDS:
            spin = QDoubleSpinBox()
            spin.setRange(0.0, maximum)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setSuffix(suffix)
            spin.setToolTip(tooltip)
            layout.addRow(label, spin)
            self.spins[attribute] = spin
        self.set_criteria(VerdictCriteria())

    def criteria(self) -> VerdictCriteria:
        """The limits as entered."""
        return VerdictCriteria(**{attribute: round(spin.value(), 4) for attribute, spin in self.spins.items()})

    def set_criteria(self, criteria: VerdictCriteria) -> None:
        """Show ``criteria``."""
        for attribute, spin in self.spins.items():
            spin.setValue(getattr(criteria, attribute))

    def restore(self, settings: QSettings) -> None:
        """Read the limits from the current group of ``settings`` (the defaults where absent or unreadable)."""
        defaults = VerdictCriteria()
        for attribute, key, *_ in _FIELDS:
            try:
                value = float(settings.value(key, getattr(defaults, attribute)))
            except (TypeError, ValueError):
                value = getattr(defaults, attribute)
            self.spins[attribute].setValue(value)

    def remember(self, settings: QSettings) -> None:
        """Write the limits into the current group of ``settings``."""
        criteria = self.criteria()
        for attribute, key, *_ in _FIELDS:
            settings.setValue(key, getattr(criteria, attribute))
