"""The worklist dock of ``dicelens review``: one row per case, sortable, filtered, with scoring progress.

The panel shows :class:`~app.qt.worklist_model.WorklistModel` through a sorting and filtering proxy.
Filters (status, "class X below Dice d", a search on the case name) are applied by the Qt-free
:func:`app.review.worklist.filter_rows`; the proxy hides what it leaves out. A progress bar shows the
background scoring of the review folder (:class:`~app.qt.worklist_scoring.WorklistScoring`) while the
list stays usable. Activating a row (double click, Enter) asks for that case (``case_activated``);
"next" / "previous" follow the order shown (:meth:`WorklistPanel.neighbour`).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.qt.worklist_model import CASE_ROLE, COLUMN_INDEX, WorklistModel, WorklistProxy
from app.review.store import STATUSES
from app.review.worklist import filter_rows

ANY_CLASS = "any class"
DEFAULT_THRESHOLD = 0.8


class WorklistPanel(QWidget):
    """The worklist table with its filters, search box and scoring progress bar.

    Signals
    -------
    case_activated(str)
        The user asked to open a case (double click or Enter on its row).
    """

    case_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = WorklistModel(self)
        self.proxy = WorklistProxy(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search case names")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filters)
        self.status_button = QToolButton()
        self.status_button.setText("Status")
        self.status_button.setToolTip("Show only cases with the checked statuses")
        self.status_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.status_menu = QMenu(self.status_button)
        self.status_actions: dict[str, QAction] = {}
        for status in STATUSES:
            action = self.status_menu.addAction(status)
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(self.apply_filters)
            self.status_actions[status] = action
        self.status_button.setMenu(self.status_menu)
        self.class_combo = QComboBox()
        self.class_combo.addItem(ANY_CLASS)
        self.class_combo.setToolTip("Show only cases where this class has a Dice below the threshold")
        self.class_combo.currentIndexChanged.connect(self.apply_filters)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setPrefix("Dice < ")
        self.threshold.valueChanged.connect(self.apply_filters)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.status_button)
        filters.addWidget(self.class_combo)
        filters.addWidget(self.threshold)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 140)
        for field in ("mean_dice", "dice_after", "worst_dice", "hd95", "grade", "seconds"):
            index = COLUMN_INDEX[field]   # narrow, but the header (and its sort arrow) is read whole
            self.table.setColumnWidth(index, max(72, header.sectionSizeHint(index)))
        self.table.setColumnWidth(COLUMN_INDEX["status"], 150)
        self.table.sortByColumn(COLUMN_INDEX["mean_dice"], Qt.SortOrder.AscendingOrder)
        self.table.doubleClicked.connect(self._on_activated)
        self.table.activated.connect(self._on_activated)

        self.count_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setFormat("scoring %v / %m")
        self.progress.setVisible(False)
        footer = QHBoxLayout()
        footer.addWidget(self.count_label, 1)
        footer.addWidget(self.progress, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)
        self._class_names: list[str] = []

    # -------------------------------------------------------------- content
    def set_rows(self, rows: list) -> None:
        """Show ``rows`` (``WorklistRow``), sorted by the current column (worst mean Dice first at start)."""
        self.model.set_rows(rows)
        self.apply_filters()

    def update_row(self, row) -> None:
        """Replace one row (scored, or a verdict); filters and sorting apply to it."""
        self.model.update_row(row)
        self.apply_filters()

    def set_class_names(self, names: list[str]) -> None:
        """The foreground classes offered by the "class X below Dice d" filter."""
        if names == self._class_names:
            return
        self._class_names = list(names)
        current = self.class_combo.currentText()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(ANY_CLASS)
        self.class_combo.addItems(self._class_names)
        index = self.class_combo.findText(current)
        self.class_combo.setCurrentIndex(max(index, 0))
        self.class_combo.blockSignals(False)

    def set_scoring_progress(self, done: int, total: int) -> None:
        """Show scoring progress; hidden when every case is scored."""
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def set_current_case(self, case: str | None) -> None:
        """Mark ``case`` bold and select its row (scrolled into view) when shown."""
        self.model.set_current_case(case)
        index = self._proxy_index(case)
        if index is not None:
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    # -------------------------------------------------------------- filters
    def apply_filters(self) -> None:
        """Show the rows that pass the status, class and search filters."""
        statuses = [status for status, action in self.status_actions.items() if action.isChecked()]
        chosen_class = self.class_combo.currentText()
        class_below = None if self.class_combo.currentIndex() <= 0 else (chosen_class, self.threshold.value())
        unfiltered = len(statuses) == len(STATUSES) and class_below is None and not self.search.text().strip()
        rows = self.model.rows
        shown = rows if unfiltered else filter_rows(rows, statuses=statuses, class_below=class_below,
                                                    search=self.search.text().strip())
        self.proxy.set_visible_cases(None if unfiltered else {row.case for row in shown})
        self.status_button.setText("Status" if len(statuses) == len(STATUSES) else f"Status ({len(statuses)})")
        decided = sum(row.status not in ("to review", "in progress") for row in rows)
        self.count_label.setText(f"{len(shown)} of {len(rows)} cases shown · {decided} decided")

    # ----------------------------------------------------------- navigation
    def shown_cases(self) -> list[str]:
        """The cases in the order shown (sorted, filtered)."""
        return [self.proxy.index(row, 0).data(CASE_ROLE) for row in range(self.proxy.rowCount())]

    def neighbour(self, case: str | None, step: int) -> str | None:
        """The case ``step`` rows after (negative: before) ``case`` in the order shown; None past the ends.

        A case not shown (filtered out, or None) counts as before the first row.
        """
        cases = self.shown_cases()
        if not cases:
            return None
        position = cases.index(case) if case in cases else (-1 if step > 0 else len(cases))
        target = position + step
        return cases[target] if 0 <= target < len(cases) else None

    def _proxy_index(self, case: str | None) -> QModelIndex | None:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(CASE_ROLE) == case:
                return index
        return None

    def _on_activated(self, index: QModelIndex) -> None:
        case = index.data(CASE_ROLE)
        if case is not None:
            self.case_activated.emit(case)


