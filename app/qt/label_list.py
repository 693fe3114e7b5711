"""The label list dock: every label of the case, searchable by name or number, with its visibility and opacity.

Selecting a row selects the class everywhere (:meth:`ReviewState.select_class`: the Dice table's row, the
error map, the per-slice plot; the window also makes it the edit toolbar's active label through
:attr:`LabelListPanel.label_activated`). The check box of a row shows or hides that label in the slice
views, the slider sets the selected label's opacity (a factor of the overall opacity) and "Show only the
selected label" hides all others; these are the main view's overlay settings
(:class:`~app.qt.overlay.OverlaySettings`), which linked views copy. Names are elided in the middle with the
full name in the tooltip, so a long name never widens the dock.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.qt.label_colors import class_colors, class_names, swatch_icon
from app.qt.plain_text import plain_tooltip

LABEL_ROLE = Qt.ItemDataRole.UserRole
"""Item data role holding the row's label index."""
_NUMBER, _NAME, _OPACITY = 0, 1, 2


def label_matches(query: str, label: int, name: str) -> bool:
    """Whether a label is found by ``query``: its number (a query of digits) or part of its name (any case)."""
    query = query.strip()
    if not query:
        return True
    if query.isdigit() and int(query) == label:
        return True
    return query.casefold() in name.casefold()


class LabelListPanel(QWidget):
    """The searchable label list of the case in ``state``, driving ``view``'s per-label overlay settings.

    Parameters
    ----------
    state : ReviewState
    view : app.qt.slice_view.SliceView
        The main view: its ``settings`` and ``set_overlay_settings`` (linked views follow it).

    Signals
    -------
    label_activated(int)
        The user selected this label in the list.
    """

    label_activated = Signal(int)

    def __init__(self, state, view, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._view = view
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a label by name or number")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["#", "Label", "Opacity"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(_NUMBER, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_OPACITY, QHeaderView.ResizeMode.ResizeToContents)
        self.only_selected = QCheckBox("Show only the selected label")
        self.show_all = QPushButton("Show all")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Opacity of the selected label, as a share of the overall opacity")
        self.opacity_text = QLabel("100 %")
        self.opacity_text.setMinimumWidth(self.opacity_text.fontMetrics().horizontalAdvance("100 %  "))
        self._build_layout()
        self._filling = False
        self.search.textChanged.connect(self._apply_filter)
        self.search.returnPressed.connect(self._select_first_match)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        self.only_selected.toggled.connect(self._on_only_selected_toggled)
        self.show_all.clicked.connect(self._on_show_all)
        self.opacity_slider.valueChanged.connect(self._on_opacity_slider)
        state.case_changed.connect(self._on_case_changed)
        state.selected_class_changed.connect(self._on_selected_class_changed)
        view.overlay_settings_changed.connect(self._on_settings_changed)

    def _build_layout(self) -> None:
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity_slider, 1)
        opacity_row.addWidget(self.opacity_text)
        bottom_row = QHBoxLayout()
        bottom_row.addWidget(self.only_selected, 1)
        bottom_row.addWidget(self.show_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addLayout(opacity_row)
        layout.addLayout(bottom_row)

    # ------------------------------------------------------------------ rows
    def rows(self) -> list[QTreeWidgetItem]:
        """Every row, in label order (hidden rows of a search included)."""
        return [self.tree.topLevelItem(index) for index in range(self.tree.topLevelItemCount())]

    @Slot(object)
    def _on_case_changed(self, case) -> None:
        self._filling = True
        self.tree.clear()
        names, colors = class_names(case, case.num_classes), class_colors(case, case.num_classes)
        for label, (name, rgb) in enumerate(zip(names, colors, strict=True)):
            item = QTreeWidgetItem([str(label), name, ""])
            item.setData(_NUMBER, LABEL_ROLE, label)
            item.setIcon(_NAME, swatch_icon(rgb))
            item.setToolTip(_NAME, plain_tooltip(name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setTextAlignment(_NUMBER, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setTextAlignment(_OPACITY, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
        self._filling = False
        self._on_settings_changed(self._view.settings)
        self._apply_filter(self.search.text())
        self._on_selected_class_changed(self._state.selected_class)

    @Slot(object)
    def _on_settings_changed(self, settings) -> None:
        """Show ``settings``' per-label visibility and opacity in the rows and controls."""
        self._filling = True
        for item in self.rows():
            label = item.data(_NUMBER, LABEL_ROLE)
            hidden = label in settings.hidden_labels
            item.setCheckState(_NUMBER, Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
            item.setText(_OPACITY, f"{round(settings.opacity_of(label) * 100)} %")
        self.only_selected.setChecked(settings.only_selected)
        self._filling = False
        self._show_selected_opacity()

    def _show_selected_opacity(self) -> None:
        percent = round(self._view.settings.opacity_of(self._state.selected_class) * 100)
        self.opacity_slider.blockSignals(True)
        self.opacity_slider.setValue(percent)
        self.opacity_slider.blockSignals(False)
        self.opacity_text.setText(f"{percent} %")

    @Slot(int)
    def _on_selected_class_changed(self, label: int) -> None:
        item = self.tree.topLevelItem(label) if 0 <= label < self.tree.topLevelItemCount() else None
        if item is not None and item is not self.tree.currentItem():
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(item)
            self.tree.blockSignals(False)
            self.tree.scrollToItem(item)
        self._show_selected_opacity()

    # ---------------------------------------------------------------- search
    @Slot(str)
    def _apply_filter(self, query: str) -> None:
        for item in self.rows():
            item.setHidden(not label_matches(query, item.data(_NUMBER, LABEL_ROLE), item.text(_NAME)))

    @Slot()
    def _select_first_match(self) -> None:
        first = next((item for item in self.rows() if not item.isHidden()), None)
        if first is not None:
            self.tree.setCurrentItem(first)

    # ------------------------------------------------------------ user edits
    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_item_changed(self, current, _previous) -> None:
        if current is None:
            return
        label = current.data(_NUMBER, LABEL_ROLE)
        self._state.select_class(label)
        self.label_activated.emit(label)

    @Slot(QTreeWidgetItem, int)
    def _on_item_changed(self, item, column: int) -> None:
        if self._filling or column != _NUMBER:
            return
        hidden = item.checkState(_NUMBER) == Qt.CheckState.Unchecked
        settings = self._view.settings
        self._view.set_overlay_settings(settings.with_label_hidden(item.data(_NUMBER, LABEL_ROLE), hidden))

    @Slot(bool)
    def _on_only_selected_toggled(self, checked: bool) -> None:
        if not self._filling:
            self._view.set_overlay_settings(replace(self._view.settings, only_selected=checked))

    @Slot()
    def _on_show_all(self) -> None:
        self._view.set_overlay_settings(replace(self._view.settings, hidden_labels=frozenset(),
                                                only_selected=False))

    @Slot(int)
    def _on_opacity_slider(self, percent: int) -> None:
        self.opacity_text.setText(f"{percent} %")
        settings = self._view.settings.with_label_opacity(self._state.selected_class, percent / 100)
        self._view.set_overlay_settings(settings)
