"""The Dice table's model-output columns: soft Dice and soft Dice loss per class, and the headline soft loss.

:class:`SoftColumnsProxy` sits between the table's :class:`~app.qt.table_model.ClassMetricsModel` and its
sorting proxy and appends two columns while the case has model output (they are inserted when the
first soft figures arrive and removed for a case without). :func:`attach_soft_columns` puts it into a
:class:`~app.qt.dice_table.DiceTablePanel` and adds the headline label under the hard Dice loss, both
fed by :class:`~app.qt.soft_controller.SoftController` (docs/architecture.md §8).
The proxy is in the table's chain only while it shows columns
(:meth:`~app.qt.dice_table.DiceTablePanel.set_column_source`): its Python methods would cost every repaint.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QIdentityProxyModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Slot
from PySide6.QtWidgets import QLabel

from app.qt.table_model import ALIGNMENT, DISPLAY, RIGHT_ALIGNED, SORT_ROLE_VALUE, TOOLTIP, UNDEFINED_TEXT

SOFT_COLUMNS = (
    ("soft Dice", "soft_dice", "Soft Dice of the model's probabilities: (2Σp·y + 1) / (Σp + Σy + 1),\n"
                               "p the class probability, y the ground truth (smooth 1). Follows ground-truth edits."),
    ("soft Dice loss", "soft_loss", "1 − soft Dice: the loss the network trains on (MONAI DiceLoss, batch=True)."),
)
"""Header, ``SoftDiceResult`` field and header tooltip of each appended column."""
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


class SoftColumns(QObject):
    """Feeds a Dice table panel's soft columns and headline from a soft controller (see the module docstring).

    Parameters
    ----------
    panel : app.qt.dice_table.DiceTablePanel
    controller : app.qt.soft_controller.SoftController
    """

    def __init__(self, panel, controller) -> None:
        super().__init__(panel)
        self.proxy = SoftColumnsProxy(self)
        self.proxy.setSourceModel(panel.model)   # in the table's chain only while it shows columns
        self.headline = QLabel()
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setToolTip(HEADLINE_TOOLTIP)
        self.headline.setVisible(False)
        layout = panel.layout()
        layout.insertWidget(layout.indexOf(panel.loss_label) + 1, self.headline)
        self._panel = panel
        controller.soft_ready.connect(self.on_soft_ready)
        if controller.last_update is not None:
            self.on_soft_ready(controller.last_update)

    @Slot(object)
    def on_soft_ready(self, update) -> None:
        """Show ``update`` (a :class:`~app.qt.soft_controller.SoftUpdate`)."""
        first = update.result is not None and not self.proxy.shown
        self.proxy.set_result(update.result)
        self._panel.set_column_source(self.proxy if self.proxy.shown else None)
        self.headline.setVisible(update.result is not None)
        if update.result is not None:
            self.headline.setText(headline_text(update))
        if first:
            self._panel.table.resizeColumnsToContents()
