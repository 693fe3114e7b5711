"""Table model of the per-class metrics, updated in place, and a proxy that sorts numbers with undefined last.

The model has one row per class (row = label value) and never resets when only the numbers
change: a new result emits ``dataChanged`` over the value columns, so the view's selection and
scroll position survive every update. The overlap columns follow the Dice engine's results; the
surface-distance columns (HD95, ASSD) follow the slower distance results, and show a class's last
value greyed while an edit has made it outdated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel

from app.qt.label_colors import swatch_icon
from app.qt.plain_text import plain_tooltip

SORT_ROLE = Qt.ItemDataRole.UserRole
"""Role holding each cell's sort key: a number, a case-folded name, or None for undefined (sorted last)."""

UNDEFINED_TEXT = "—"
UNDEFINED_DICE_TOOLTIP = (
    "Undefined: this class is absent from both the ground truth and the prediction here,\n"
    "so Dice (and IoU) are 0/0. Undefined classes are left out of the averages, and the number\n"
    "left out is shown. A class absent from the ground truth but predicted has Dice 0."
)
UNDEFINED_DISTANCE_TOOLTIP = (
    "Undefined: this class is absent from the ground truth or from the prediction, so there is\n"
    "no surface to measure from (never 0, which would read as a perfect boundary)."
)
NOT_COMPUTED_DISTANCE_TOOLTIP = "Surface distances are computed for the foreground classes only."
STALE_TEXT = "…"
STALE_TOOLTIP = "Updating: an edit changed this class; the distance is recomputed once the edits settle."
STALE_COLOR = QColor(128, 128, 128)


def millilitres(value: float, signed: bool = False) -> str:
    """A volume in ml with at least 3 significant digits up to 3 decimals: 8751.9, 7.52, 0.070, 0.001.

    Small structures (a 2D image's label, a lesion) keep readable digits instead of "0.00".
    """
    if value == 0:
        return "0"
    decimals = min(3, max(1, 2 - math.floor(math.log10(abs(value)))))
    return format(value, f"{'+' if signed else ''}.{decimals}f")


@dataclass(frozen=True)
class Column:
    """One table column: header, header tooltip, the ``ClassMetrics`` field shown and its number format.

    ``number_format`` is a :func:`format` spec, or ``"ml"`` / ``"+ml"`` for :func:`millilitres`.
    ``source`` says where ``field`` is read: ``"metrics"`` (``dice_engine.ClassMetrics``) or
    ``"distances"`` (``dice_engine.SurfaceDistanceResult``).
    """

    header: str
    tooltip: str
    field: str | None = None
    number_format: str = ""
    source: str = "metrics"

    def format(self, value: float | int) -> str:
        """``value`` as shown in this column."""
        if self.number_format.endswith("ml"):
            return millilitres(value, signed=self.number_format.startswith("+"))
        return format(value, self.number_format)


COLUMNS = (
    Column("#", "Label value"),
    Column("Class", "Class name from the label table"),
    Column("Dice", "2·TP / (2·TP + FP + FN)", "dice", ".3f"),
    Column("IoU", "TP / (TP + FP + FN)", "iou", ".3f"),
    Column("GT ml", "Ground-truth volume in millilitres", "gt_volume_ml", "ml"),
    Column("Pred ml", "Predicted volume in millilitres", "pred_volume_ml", "ml"),
    Column("ΔVol ml", "Predicted minus ground-truth volume in millilitres", "volume_difference_ml", "+ml"),
    Column("FP vox", "False-positive voxels: predicted as this class, another class in the ground truth",
           "fp", ",d"),
    Column("FN vox", "False-negative voxels: this class in the ground truth, predicted as another",
           "fn", ",d"),
    Column("HD95", "95th-percentile Hausdorff distance in mm: the larger of the two directed 95th\n"
           "percentiles of surface-voxel distances (MONAI's definition). Greyed while updating.",
           "hausdorff95", ".2f", "distances"),
    Column("ASSD", "Average symmetric surface distance in mm: mean distance of the surface voxels\n"
           "of each mask to the other's surface, both directions pooled. Greyed while updating.",
           "assd", ".2f", "distances"),
)
NAME_COLUMN = 1
FIRST_VALUE_COLUMN = 2
FIRST_DISTANCE_COLUMN = next(number for number, column in enumerate(COLUMNS) if column.source == "distances")
LAST_METRIC_COLUMN = FIRST_DISTANCE_COLUMN - 1
UNDEFINED_TOOLTIP_FIELDS = ("dice", "iou")
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
STALE_BRUSH = QBrush(STALE_COLOR)
SORT_ROLE_VALUE = int(SORT_ROLE.value)
RIGHT_ALIGNED = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)


class ClassMetricsModel(QStandardItemModel):
    """Per-class metrics table: one row per label ``0 .. C-1``, columns :data:`COLUMNS`.

    Each cell's roles (text, sort key, tooltip, colour) are computed when its numbers change and kept in
    the model's own C++ items, not answered when Qt asks: a view asks for about seven roles per visible
    cell on every repaint, and answering in Python would take the GIL, which a busy background lane
    (surface distances, objects) holds, hundreds of times per brush segment (docs/architecture.md §3).
    So this class overrides no method the view calls while painting.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        prototype = QStandardItem()
        prototype.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)   # read-only cells
        self.setItemPrototype(prototype)
        self.setColumnCount(len(COLUMNS))
        self._names: list[str] = []
        self._icons: list = []
        self._values: dict[str, np.ndarray] = {}
        self._texts: list[list[str]] = []
        self._keys: list[list] = []
        self._distances: dict[str, np.ndarray] = {}
        self._computed: frozenset[int] = frozenset()
        self._stale: frozenset[int] = frozenset()
        self._distance_tooltips: list[str | None] = []
        self._distance_unit = "mm"

    def set_distance_unit(self, unit: str) -> None:
        """Say distances are in ``unit`` ("mm", or "px" for images without a physical pixel size)."""
        if unit != self._distance_unit:
            self._distance_unit = unit
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, FIRST_DISTANCE_COLUMN, len(COLUMNS) - 1)

    def set_classes(self, names: list[str], colors: list[tuple[int, int, int]]) -> None:
        """Show classes ``names`` (index = label) with swatches ``colors``; clears the numbers (a reset)."""
        if len(names) != len(colors):
            raise ValueError(f"got {len(names)} class names but {len(colors)} colours")
        self.beginResetModel()
        blocked = self.blockSignals(True)   # the reset announces all of it at once
        try:
            self._names = list(names)
            self._icons = [swatch_icon(color) for color in colors]
            self._values = {}
            self._distances, self._computed, self._stale = {}, frozenset(), frozenset(range(len(self._names)))
            blank = FIRST_DISTANCE_COLUMN - FIRST_VALUE_COLUMN
            waiting = [STALE_TEXT] * (len(COLUMNS) - FIRST_DISTANCE_COLUMN)
            self._texts = [[str(label), name] + [""] * blank + waiting for label, name in enumerate(self._names)]
            self._keys = [[label, name.casefold()] + [None] * (len(COLUMNS) - 2)
                          for label, name in enumerate(self._names)]
            self._distance_tooltips = ["Computing the surface distances…"] * len(self._names)
            self.setRowCount(0)
            self.setRowCount(len(self._names))
            for row in range(len(self._names)):
                for column in range(len(COLUMNS)):
                    self._write(row, column)
        finally:
            self.blockSignals(blocked)
        self.endResetModel()

    @property
    def has_metrics(self) -> bool:
        """True once :meth:`set_metrics` has filled the value columns."""
        return bool(self._values)

    def set_metrics(self, metrics, sort_column: int | None = None) -> None:
        """Show the numbers of ``metrics`` (a ``dice_engine.ClassMetrics``), updating cells in place.

        Only cells whose text changed are announced (``dataChanged``), so only they repaint: a brush
        segment moves a class's voxel counts, but its Dice to three decimals and its volumes often stay
        as shown. A cell whose sort key changed without its text is announced too when it lies in
        ``sort_column`` (the column the view sorts by, so that the order follows; None: any column).

        Raises
        ------
        ValueError
            If ``metrics`` has a different number of classes than the rows (call :meth:`set_classes` first).
        """
        values = {
            column.field: np.asarray(getattr(metrics, column.field))
            for column in COLUMNS[:FIRST_DISTANCE_COLUMN]
            if column.field is not None and getattr(metrics, column.field) is not None
        }
        sizes = {len(array) for array in values.values()}
        if sizes != {len(self._names)}:
            raise ValueError(f"metrics for {sorted(sizes)} classes do not fit a table of {len(self._names)}")
        changed = self._changed_rows(values)
        self._values = values
        value_columns = range(FIRST_VALUE_COLUMN, FIRST_DISTANCE_COLUMN)
        for row in changed.tolist():
            texts, keys = list(self._texts[row]), list(self._keys[row])
            self._fill_row(row)
            for column in value_columns:
                if self._texts[row][column] != texts[column] or (
                        sort_column in (None, column) and self._keys[row][column] != keys[column]):
                    self._write(row, column)   # one dataChanged for the cell
                elif self._keys[row][column] != keys[column]:
                    self._write(row, column, announce=False)   # kept exact for sorting later, unseen

    def set_distances(self, result, stale=frozenset(), unavailable: str = "") -> None:
        """Show the surface distances of ``result`` (a ``dice_engine.SurfaceDistanceResult``), in place.

        Parameters
        ----------
        result : SurfaceDistanceResult or None
            ``(C,)`` float64 ``hausdorff95`` and ``assd`` in mm (NaN: undefined or not computed)
            and the computed ``classes``; None when the distances are not available.
        stale : iterable of int
            Classes edited since ``result`` was computed: shown greyed with an "updating" tooltip.
        unavailable : str
            With ``result`` None: why (the cells' tooltip).
        """
        if result is None:
            self._distances, self._computed = {}, frozenset()
            self._distance_tooltips = [unavailable or "Surface distances are not available."] * len(self._names)
        else:
            fields = [column.field for column in COLUMNS[FIRST_DISTANCE_COLUMN:]]
            values = {field: np.asarray(getattr(result, field), dtype=np.float64) for field in fields}
            if {len(array) for array in values.values()} != {len(self._names)}:
                raise ValueError(f"distances for {len(values[fields[0]])} classes do not fit a table of "
                                 f"{len(self._names)}")
            self._distances, self._computed = values, frozenset(int(c) for c in result.classes)
        self._stale = frozenset(int(c) for c in stale) if result is not None else frozenset()
        self._refresh_distance_rows(range(len(self._names)))

    def mark_distances_stale(self, stale) -> None:
        """Grey the distances of classes ``stale`` (edited, being recomputed); others keep their look."""
        stale = frozenset(int(c) for c in stale if 0 <= int(c) < len(self._names))
        if not self._distances:
            return
        changed = sorted(stale.symmetric_difference(self._stale))
        self._stale = stale
        self._refresh_distance_rows(changed)

    def _refresh_distance_rows(self, rows) -> None:
        for row in rows:
            self._fill_distance_row(row)
            for column in range(FIRST_DISTANCE_COLUMN, len(COLUMNS)):
                self._write(row, column)

    def _write(self, row: int, column: int, announce: bool = True) -> None:
        """Store cell ``(row, column)``'s roles in its item (one ``dataChanged`` if any changed and ``announce``)."""
        key = self._keys[row][column]
        roles = {DISPLAY: self._texts[row][column], SORT_ROLE_VALUE: key, TOOLTIP: self._tooltip(row, column)}
        if column == NAME_COLUMN:
            roles[DECORATION] = self._icons[row]
        else:
            roles[ALIGNMENT] = RIGHT_ALIGNED
        if column >= FIRST_DISTANCE_COLUMN:
            roles[FOREGROUND] = STALE_BRUSH if row in self._stale else None
        if announce:
            self.setItemData(self.index(row, column), roles)
            return
        blocked = self.blockSignals(True)
        try:
            self.setItemData(self.index(row, column), roles)
        finally:
            self.blockSignals(blocked)

    def _fill_distance_row(self, row: int) -> None:
        stale = row in self._stale
        for number, column in enumerate(COLUMNS[FIRST_DISTANCE_COLUMN:], start=FIRST_DISTANCE_COLUMN):
            if not self._distances:
                self._keys[row][number], self._texts[row][number] = None, ""
                continue
            value = float(self._distances[column.field][row])
            defined = not math.isnan(value)
            self._keys[row][number] = value if defined else None
            if defined:
                self._texts[row][number] = column.format(value)
            else:
                self._texts[row][number] = STALE_TEXT if stale else UNDEFINED_TEXT
        if not self._distances:
            return
        if stale:
            self._distance_tooltips[row] = STALE_TOOLTIP
        elif row not in self._computed:
            self._distance_tooltips[row] = NOT_COMPUTED_DISTANCE_TOOLTIP
        elif math.isnan(float(self._distances["hausdorff95"][row])):
            self._distance_tooltips[row] = UNDEFINED_DISTANCE_TOOLTIP
        else:
            self._distance_tooltips[row] = None

    def _fill_row(self, row: int) -> None:
        for number, column in enumerate(COLUMNS[FIRST_VALUE_COLUMN:FIRST_DISTANCE_COLUMN], start=FIRST_VALUE_COLUMN):
            array = self._values.get(column.field)
            value = None if array is None else array[row].item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            self._keys[row][number] = value
            if array is None:
                self._texts[row][number] = ""
            else:
                self._texts[row][number] = UNDEFINED_TEXT if value is None else column.format(value)

    def _changed_rows(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """Rows whose numbers differ from those shown (every row the first time): only they repaint."""
        if self._values.keys() != values.keys():
            return np.arange(len(self._names))
        changed = np.zeros(len(self._names), bool)
        for key, new in values.items():
            old = self._values[key]
            changed |= (old != new) & ~(np.isnan(old) & np.isnan(new)) if new.dtype.kind == "f" else old != new
        return np.flatnonzero(changed)

    def headerData(self, section, orientation, role=DISPLAY):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        distance = section >= FIRST_DISTANCE_COLUMN
        if role == DISPLAY:
            return f"{COLUMNS[section].header} {self._distance_unit}" if distance else COLUMNS[section].header
        if role == TOOLTIP:
            tooltip = COLUMNS[section].tooltip
            return tooltip.replace(" in mm", " in pixels") if distance and self._distance_unit == "px" else tooltip
        return None

    @property
    def stale_distance_classes(self) -> frozenset[int]:
        """Classes whose shown surface distances are outdated (greyed)."""
        return self._stale

    def _tooltip(self, row: int, column: int) -> str | None:
        if column == NAME_COLUMN:
            return plain_tooltip(self._names[row])
        if column >= FIRST_DISTANCE_COLUMN:
            tip = self._distance_tooltips[row]
            return plain_tooltip(tip) if tip else tip
        field = COLUMNS[column].field
        if field in UNDEFINED_TOOLTIP_FIELDS and field in self._values and self._keys[row][column] is None:
            return UNDEFINED_DICE_TOOLTIP
        return None


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` of each run of consecutive values in sorted ``rows``."""
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > 1)
    starts = np.concatenate(([rows[0]], rows[breaks + 1]))
    ends = np.concatenate((rows[breaks], [rows[-1]]))
    return [(int(first), int(last)) for first, last in zip(starts, ends, strict=True)]


class MetricSortProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE`; undefined values (None) go last in both orders, ties keep label order."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        left_value, right_value = left.data(SORT_ROLE), right.data(SORT_ROLE)
        ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
        if left_value is None or right_value is None:
            if left_value is None and right_value is None:
                return (left.row() < right.row()) == ascending
            # Qt reverses the comparison for a descending sort: answer so that None ends last either way.
            return (left_value is None) != ascending
        if left_value == right_value:
            return (left.row() < right.row()) == ascending
        return left_value < right_value
