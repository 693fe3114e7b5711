"""Table model of the review worklist (one row per case) and the proxy that sorts and filters it.

The rows are :class:`app.review.worklist.WorklistRow` values, computed Qt-free by
:func:`app.review.worklist.worklist_rows`; this model only shows them. A row changes when its case is
scored in the background or gets a verdict (:meth:`WorklistModel.update_row`: ``dataChanged`` only, so
the view keeps its selection and scroll position). Live claims of other reviewers
(:meth:`app.review.store.ReviewStore.claims`) are shown as "taken by <reviewer>" in the status column.
Which rows pass the dock's filters is decided by :func:`app.review.worklist.filter_rows`; the proxy only
hides the others and sorts by :data:`app.qt.table_model.SORT_ROLE` (undefined last).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont

from app.qt.plain_text import plain_tooltip
from app.qt.table_model import SORT_ROLE, UNDEFINED_TEXT, MetricSortProxy

CASE_ROLE = Qt.ItemDataRole.UserRole + 1
"""Role holding the row's case name (any column)."""


@dataclass(frozen=True)
class WorklistColumn:
    """One worklist column: header, header tooltip, the ``WorklistRow`` field shown and its number format."""

    header: str
    tooltip: str
    field: str
    number_format: str = ""


COLUMNS = (
    WorklistColumn("Case", "Case name (the ground-truth file name without its ending)", "case"),
    WorklistColumn("Mean Dice", "Mean Dice over the foreground classes", "mean_dice", ".3f"),
    WorklistColumn("Dice after", "Mean Dice over the foreground classes after the reviewer's correction "
                   "(empty when not corrected)", "dice_after", ".3f"),
    WorklistColumn("Worst class", "The foreground class with the lowest Dice", "worst_class"),
    WorklistColumn("Worst Dice", "Dice of the worst class", "worst_dice", ".3f"),
    WorklistColumn("HD95", "Mean HD95 over the foreground classes, mm (when computed)", "hd95", ".2f"),
    WorklistColumn("Vol. diff", "Predicted minus ground-truth foreground volume, ml", "volume_difference", "+.2f"),
    WorklistColumn("Status", "to review / in progress / accepted / needs correction / corrected / rejected",
                   "status"),
    WorklistColumn("Grade", "Grade 1-5 given by the reviewer", "grade", "d"),
    WorklistColumn("Reviewer", "Who gave the last verdict", "reviewer"),
    WorklistColumn("Time", "Time spent on the case (all reviewers)", "seconds"),
)
COLUMN_INDEX = {column.field: index for index, column in enumerate(COLUMNS)}
NOT_SCORED_TEXT = "scoring…"
NOT_SCORED_TOOLTIP = "Not scored yet: the case is scored in the background and its row filled in then."


def duration_text(seconds: float) -> str:
    """``seconds`` as ``m:ss`` (``h:mm:ss`` from an hour on); empty for nothing spent."""
    if seconds <= 0:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class WorklistModel(QAbstractTableModel):
    """The worklist's rows, in the order given (the proxy sorts).

    Attributes
    ----------
    rows : list of WorklistRow
    claims : dict of str to str
        Case -> the other reviewer holding a live claim on it.
    current_case : str or None
        The case open in the window (shown bold).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list = []
        self.claims: dict[str, str] = {}
        self.current_case: str | None = None
        self._index: dict[str, int] = {}

    # -------------------------------------------------------------- updates
    def set_rows(self, rows: list) -> None:
        """Replace every row (a new review folder)."""
        self.beginResetModel()
        self.rows = list(rows)
        self._index = {row.case: number for number, row in enumerate(self.rows)}
        self.endResetModel()

    def update_row(self, row) -> None:
        """Replace the row of ``row.case`` (scored, or a new verdict); unknown cases are ignored."""
        number = self._index.get(row.case)
        if number is None:
            return
        self.rows[number] = row
        self._changed(number)

    def set_claims(self, claims: dict[str, str]) -> None:
        """Show ``claims`` (case -> other reviewer) instead of the previous ones."""
        changed = {case for case in set(claims) | set(self.claims) if claims.get(case) != self.claims.get(case)}
        self.claims = dict(claims)
        for case in changed:
            if case in self._index:
                self._changed(self._index[case])

    def set_current_case(self, case: str | None) -> None:
        """Mark ``case`` as the one open in the window."""
        previous, self.current_case = self.current_case, case
        for name in (previous, case):
            if name in self._index:
                self._changed(self._index[name])

    def row_of(self, case: str):
        """The ``WorklistRow`` of ``case``, or None."""
        number = self._index.get(case)
        return None if number is None else self.rows[number]

    def _changed(self, number: int) -> None:
        self.dataChanged.emit(self.index(number, 0), self.index(number, len(COLUMNS) - 1))

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tooltip
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], COLUMNS[index.column()]
        if role == CASE_ROLE:
            return row.case
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.FontRole and row.case == self.current_case:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column.number_format:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row, column: WorklistColumn) -> str:
        value = getattr(row, column.field)
        if column.field == "status":
            taken_by = self.claims.get(row.case)
            return f"{value} — taken by {taken_by}" if taken_by else str(value)
        if column.field == "seconds":
            return duration_text(value or 0.0)
        if column.field in ("mean_dice", "worst_class", "worst_dice") and not row.scored:
            return NOT_SCORED_TEXT if column.field == "mean_dice" else ""
        if value is None:
            return "" if column.field in ("grade", "reviewer", "hd95", "dice_after") else UNDEFINED_TEXT
        return format(value, column.number_format) if column.number_format else str(value)

    def _tooltip(self, row, column: WorklistColumn) -> str | None:
        if not row.scored and column.field in ("mean_dice", "worst_class", "worst_dice"):
            return NOT_SCORED_TOOLTIP
        if column.field == "status" and row.case in self.claims:
            return plain_tooltip(f"{row.case} is open in the window of {self.claims[row.case]}.")
        if column.field in ("case", "worst_class", "reviewer"):
            value = getattr(row, column.field)
            return plain_tooltip(str(value)) if value else None
        return None

    @staticmethod
    def _sort_key(row, column: WorklistColumn):
        value = getattr(row, column.field)
        if isinstance(value, str):
            return value.casefold()
        return value


class WorklistProxy(MetricSortProxy):
    """Sorts the worklist (undefined last) and shows only the cases in :attr:`visible_cases`.

    ``visible_cases`` None shows every row.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.visible_cases: set[str] | None = None

    def set_visible_cases(self, cases: set[str] | None) -> None:
        """Show only ``cases`` (None: all)."""
        self.beginFilterChange()
        self.visible_cases = None if cases is None else set(cases)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.visible_cases is None:
            return True
        case = self.sourceModel().index(source_row, 0, source_parent).data(CASE_ROLE)
        return case in self.visible_cases
