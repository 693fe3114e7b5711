"""The Dice table's model-output columns: soft Dice and soft Dice loss per class, and the headline soft loss.

:class:`SoftColumnsProxy` sits between the table's :class:`~app.qt.table_model.ClassMetricsModel` and its
sorting proxy and appends two columns while the case has model output (they are inserted when the
first soft figures arrive and removed for a case without); the table's header shows them right after
Dice. :class:`SoftColumns` puts it into a
:class:`~app.qt.dice_table.DiceTablePanel` and adds the headline label under the hard Dice loss, both
fed by :class:`~app.qt.soft_controller.SoftController` (docs/architecture.md §8). Under the headline one
line keeps the case's model-output warning (a prediction that disagrees with the model where it is
decisive, with counts) while the case is shown. The proxy is in the table's chain only while it shows
columns (:meth:`~app.qt.dice_table.DiceTablePanel.set_column_source`): its Python methods would cost every
repaint.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QIdentityProxyModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Slot
from PySide6.QtWidgets import QLabel, QSizePolicy

from app.qt.plain_text import plain_tooltip
from app.qt.table_model import (
    ALIGNMENT,
    COLUMNS,
    DISPLAY,
    RIGHT_ALIGNED,
    SORT_ROLE_VALUE,
    TOOLTIP,
    UNDEFINED_TEXT,
)

SOFT_COLUMNS = (
    ("soft Dice", "soft_dice", "Soft Dice of the model's probabilities: (2Σp·y + 1) / (Σp + Σy + 1),\n"
                               "p the class probability, y the ground truth (smooth 1). Follows ground-truth edits."),
    ("soft Dice loss", "soft_loss", "1 − soft Dice: the loss the network trains on (MONAI DiceLoss, batch=True)."),
)
"""Header, ``SoftDiceResult`` field and header tooltip of each appended column."""
SHOWN_AFTER = next(number for number, column in enumerate(COLUMNS) if column.field == "dice")
"""The soft columns are appended to the model but shown right after this column (Dice), where a user
comparing hard and soft Dice sees them at the default dock width (not beyond ASSD, off-screen)."""
WARNING_PREFIX = "warning: "
"""Case messages that are warnings start so (app/io/model_prediction.py's agreement check)."""
WARNING_COLOR = "#e8a33d"
EDITED_NOTE = "describes the model's output, not the edited prediction"
HEADLINE_TOOLTIP = ("Mean of the soft Dice loss over the foreground classes: 1 − (2Σp·y + s) / (Σp + Σy + s)\n"
                    "per class, s = 1, p the model's probabilities (softmax of logits; sigmoid for one\n"
                    "channel). The same figure as dicelens score --probs. Follows ground-truth edits exactly;\n"
                    "editing the prediction does not change it.")


class SoftColumnsProxy(QIdentityProxyModel):
    """The source table with :data:`SOFT_COLUMNS` appended while soft figures are set.

    Values are kept by label (row): ``(K,)`` float64 arrays of the classes scored; other rows show "—".
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._texts: dict[int, list[str]] = {}
        self._values: dict[int, list[float | None]] = {}
        self._shown = False

    @property
    def shown(self) -> bool:
        """True while the soft columns are part of the table."""
        return self._shown

    def set_result(self, result) -> None:
        """Show the per-class figures of ``result`` (a ``dice_engine.soft.SoftDiceResult``); None removes
        the columns."""
        base = self._base_columns()
        if result is None:
            if self._shown:
                self.beginRemoveColumns(QModelIndex(), base, base + len(SOFT_COLUMNS) - 1)
                self._shown, self._texts, self._values = False, {}, {}
                self.endRemoveColumns()
            return
        values: dict[int, list[float | None]] = {}
        for row, label in enumerate(np.asarray(result.classes).tolist()):
            numbers = [float(getattr(result, field)[row]) for _, field, _ in SOFT_COLUMNS]
            values[int(label)] = [None if math.isnan(number) else number for number in numbers]
        texts = {label: [UNDEFINED_TEXT if number is None else f"{number:.4f}" for number in numbers]
                 for label, numbers in values.items()}
        if not self._shown:
            self.beginInsertColumns(QModelIndex(), base, base + len(SOFT_COLUMNS) - 1)
            self._shown, self._texts, self._values = True, texts, values
            self.endInsertColumns()
            return
        self._texts, self._values = texts, values
        rows = self.rowCount()
        if rows:
            self.dataChanged.emit(self.index(0, base), self.index(rows - 1, base + len(SOFT_COLUMNS) - 1))

    def value(self, label: int, field: str) -> float | None:
        """The figure shown for ``label`` in the column of ``field`` (None: undefined or not scored)."""
        fields = [name for _, name, _ in SOFT_COLUMNS]
        return self._values.get(label, [None] * len(fields))[fields.index(field)]

    # ------------------------------------------------------------------ Qt
    def _base_columns(self) -> int:
        source = self.sourceModel()
        return 0 if source is None else source.columnCount()

    def _soft_column(self, column: int) -> int | None:
        offset = column - self._base_columns()
        return offset if self._shown and 0 <= offset < len(SOFT_COLUMNS) else None

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        if parent.isValid():
            return 0
        return self._base_columns() + (len(SOFT_COLUMNS) if self._shown else 0)

    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:  # noqa: B008
        if self._soft_column(column) is not None and not parent.isValid() and 0 <= row < self.rowCount():
            return self.createIndex(row, column)
        return super().index(row, column, parent)

    def parent(self, index=QModelIndex()) -> QModelIndex:  # noqa: B008
        return QModelIndex()

    def sibling(self, row: int, column: int, index: QModelIndex) -> QModelIndex:
        return self.index(row, column)

    def mapToSource(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not index.isValid() or self._soft_column(index.column()) is not None:
            return QModelIndex()
        return self.sourceModel().index(index.row(), index.column())

    def mapFromSource(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not index.isValid():
            return QModelIndex()
        return self.createIndex(index.row(), index.column())

    def flags(self, index):
        if self._soft_column(index.column()) is not None:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return super().flags(index)

    def headerData(self, section, orientation, role=DISPLAY):
        soft = self._soft_column(section) if orientation == Qt.Orientation.Horizontal else None
        if soft is None:
            return super().headerData(section, orientation, role)
        if role == DISPLAY:
            return SOFT_COLUMNS[soft][0]
        if role == TOOLTIP:
            return SOFT_COLUMNS[soft][2]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=DISPLAY):
        soft = self._soft_column(index.column()) if index.isValid() else None
        if soft is None:
            return super().data(index, role)
        label = index.row()
        if role == DISPLAY:
            return self._texts.get(label, [UNDEFINED_TEXT] * len(SOFT_COLUMNS))[soft]
        if role == SORT_ROLE_VALUE:
            return self._values.get(label, [None] * len(SOFT_COLUMNS))[soft]
        if role == ALIGNMENT:
            return RIGHT_ALIGNED
        return None


def headline_text(update) -> str:
    """The headline of a :class:`~app.qt.soft_controller.SoftUpdate` with a result."""
    result = update.result
    loss = UNDEFINED_TEXT if math.isnan(result.loss_mean) else f"{result.loss_mean:.4f}"
    source = "softmax of logits" if update.source == "logits" else "probabilities"
    s = f"{result.smooth:g}"
    text = f"Soft Dice loss 1 − (2Σp·y+{s})/(Σp+Σy+{s}), foreground mean, {source}: <b>{loss}</b>"
    return text + (f" · <i>{EDITED_NOTE}</i>" if update.prediction_edited else "")


class ElidedLabel(QLabel):
    """One line of plain text cut with "…" to the label's width (a long warning never pushes the table
    down); the whole text is the tooltip."""

    def __init__(self) -> None:
        super().__init__()
        self.full_text = ""
        self.setTextFormat(Qt.TextFormat.PlainText)   # file names in it are the user's
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        """Show ``text`` (elided) and put it whole in the tooltip."""
        self.full_text = text
        self.setToolTip(plain_tooltip(text) if text else "")
        self._elide()

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(self.width(), 1)))


def case_warnings(case) -> list[str]:
    """The warnings among the messages of a case with model output (a prediction that disagrees with the
    model where it is decisive, with counts); empty for a case without model output."""
    if case is None or getattr(case, "scores", None) is None:
        return []
    return [message for message in case.messages if message.startswith(WARNING_PREFIX)]


class SoftColumns(QObject):
    """Feeds a Dice table panel's soft columns and headline from a soft controller (see the module docstring).

    Parameters
    ----------
    panel : app.qt.dice_table.DiceTablePanel
    controller : app.qt.soft_controller.SoftController
    state : app.qt.review_state.ReviewState, optional
        When given, the case's model-output warnings stay in :attr:`warning_label` under the headline
        while the case is shown (the status bar shows them for 15 s, cut to its width).
    """

    def __init__(self, panel, controller, state=None) -> None:
        super().__init__(panel)
        self.proxy = SoftColumnsProxy(self)   # follows the table's model only while it shows columns
        self.headline = QLabel()
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setToolTip(HEADLINE_TOOLTIP)
        self.headline.setVisible(False)
        layout = panel.layout()
        layout.insertWidget(layout.indexOf(panel.loss_label) + 1, self.headline)
        self.warning_label = ElidedLabel()
        self.warning_label.setStyleSheet(f"QLabel {{ color: {WARNING_COLOR}; }}")
        self.warning_label.setVisible(False)
        layout.insertWidget(layout.indexOf(self.headline) + 1, self.warning_label)
        if state is not None:
            state.case_changed.connect(self.on_case_changed)
            self.on_case_changed(state.case)
        self._panel = panel
        controller.soft_ready.connect(self.on_soft_ready)
        if controller.last_update is not None:
            self.on_soft_ready(controller.last_update)

    @Slot(object)
    def on_case_changed(self, case) -> None:
        """Show the new case's model-output warnings (:func:`case_warnings`), or hide the line."""
        warnings = case_warnings(case)
        self.warning_label.set_full_text(" ".join(warnings))
        self.warning_label.setVisible(bool(warnings))

    @Slot(object)
    def on_soft_ready(self, update) -> None:
        """Show ``update`` (a :class:`~app.qt.soft_controller.SoftUpdate`)."""
        first = update.result is not None and not self.proxy.shown
        if update.result is not None and self.proxy.sourceModel() is not self._panel.model:
            self.proxy.setSourceModel(self._panel.model)
        self.proxy.set_result(update.result)
        self._panel.set_column_source(self.proxy if self.proxy.shown else None)
        if not self.proxy.shown and self.proxy.sourceModel() is not None:
            # Hidden, the proxy leaves the model: else each cell a brush segment changes would call its
            # Python mapFromSource (taking the GIL) for columns no view shows (docs/architecture.md §3a).
            self.proxy.setSourceModel(None)
        self.headline.setVisible(update.result is not None)
        if update.result is not None:
            self.headline.setText(headline_text(update))
        if first:
            self._panel.table.resizeColumnsToContents()
            self._show_beside_dice()

    def _show_beside_dice(self) -> None:
        """Move the soft columns' sections (just inserted, at the end) to right after :data:`SHOWN_AFTER`.

        Only the header's visual order changes: the models' columns, sorting and exports stay as they are."""
        header = self._panel.table.horizontalHeader()
        base = self._panel.model.columnCount()
        for offset in range(len(SOFT_COLUMNS)):
            header.moveSection(header.visualIndex(base + offset), header.visualIndex(SHOWN_AFTER) + 1 + offset)
