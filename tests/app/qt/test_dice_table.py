"""The Dice table: values equal the engine's, in-place updates keep the selection, sorting, state sync."""

import dataclasses
import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.qt.dice_table import BUSY_DELAY_MS, DiceTablePanel
from app.qt.engine_controller import EngineController
from app.qt.review_state import ReviewState
from app.qt.table_model import (
    COLUMNS,
    FIRST_DISTANCE_COLUMN,
    FIRST_VALUE_COLUMN,
    SORT_ROLE,
    UNDEFINED_TEXT,
    ClassMetricsModel,
    millilitres,
)
from tests.app.qt.panels_cases import MaskDelta, many_label_case, organ_case

COLUMN = {column.field or column.header: index for index, column in enumerate(COLUMNS)}


@pytest.fixture
def review(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = DiceTablePanel(state, controller)
    qtbot.addWidget(panel)
    case = organ_case()
    state.set_case(case)
    controller.load(case)
    return state, controller, panel, case


def cell(panel, label, column, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.data(panel.model.index(label, COLUMN[column]), role)


def selected_labels(panel):
    return [panel.proxy.mapToSource(index).row() for index in panel.table.selectionModel().selectedRows()]


def test_every_value_is_the_engines_value_and_undefined_reads_as_a_dash_with_the_convention(review):
    _, controller, panel, case = review
    metrics = controller.last_result.metrics
    assert panel.model.rowCount() == case.num_classes
    for label in range(case.num_classes):
        assert cell(panel, label, "Class") == case.labels.name(label)
        for column in COLUMNS:
            if column.field is None or column.source != "metrics":
                continue
            expected = getattr(metrics, column.field)[label].item()
            shown, key = cell(panel, label, column.field), cell(panel, label, column.field, SORT_ROLE)
            if isinstance(expected, float) and math.isnan(expected):
                assert shown == UNDEFINED_TEXT and key is None
            else:
                assert key == expected
                assert shown == column.format(expected)
    assert cell(panel, 5, "dice") == UNDEFINED_TEXT  # "never present" is absent from both masks
    tooltip = cell(panel, 5, "dice", Qt.ItemDataRole.ToolTipRole)
    assert "absent from both" in tooltip and "left out of the averages" in tooltip and "Dice 0" in tooltip
    assert cell(panel, 1, "dice", Qt.ItemDataRole.ToolTipRole) is None


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [(8751.94, False, "8751.9"), (288.734, False, "288.7"), (7.524, False, "7.52"), (0.07, False, "0.070"),
     (0.001, False, "0.001"), (0.0004, False, "0.000"), (0.0, False, "0"), (-0.001, True, "-0.001"),
     (229.69, True, "+229.7"), (0.05, True, "+0.050")],
)
def test_volumes_keep_three_significant_digits_for_small_structures(value, signed, text):
    assert millilitres(value, signed) == text


def test_headline_shows_mean_foreground_dice_undefined_count_and_loss(review):
    _, controller, panel, _ = review
    result = controller.last_result
    assert "Mean foreground Dice" in panel.mean_label.text()
    assert f"{result.dice_mean_foreground:.3f}" in panel.mean_label.text()
    assert "1 undefined left out" in panel.mean_label.text()
    assert f"{result.dice_loss_hard:.3f}" in panel.loss_label.text()
    assert "smooth 1" in panel.loss_label.text() and "foreground" in panel.loss_label.text()


def test_a_new_result_updates_cells_in_place_and_the_selection_survives(qtbot, review):
    state, controller, panel, case = review
    state.select_class(3)
    panel.table.sortByColumn(COLUMN["dice"], Qt.SortOrder.DescendingOrder)
    assert selected_labels(panel) == [3]
    resets, changed_rows = [], []
    panel.model.modelReset.connect(lambda: resets.append(1))
    panel.model.dataChanged.connect(
        lambda top_left, bottom_right, roles: changed_rows.extend(range(top_left.row(), bottom_right.row() + 1))
        if top_left.column() < FIRST_DISTANCE_COLUMN else None  # the distance columns follow their own results
    )
    before = controller.last_result.metrics

    region = (slice(4, 11), slice(4, 10), slice(12, 18))
    case.pred[region] = case.gt[region]  # the missed part of the kidney, corrected
    controller.submit_delta(MaskDelta("pred", region, case.pred[region].copy()))

    assert resets == []
    after = controller.last_result.metrics
    differs = np.zeros(case.num_classes, bool)
    for column in COLUMNS[2:FIRST_DISTANCE_COLUMN]:
        old, new = getattr(before, column.field), getattr(after, column.field)
        differs |= ~np.isclose(old, new, equal_nan=True, rtol=0, atol=0)
    assert 3 in changed_rows and 1 not in changed_rows  # the kidney changed, the liver did not
    assert sorted(set(changed_rows)) == np.flatnonzero(differs).tolist()  # only changed rows repaint
    assert selected_labels(panel) == [3] and state.selected_class == 3
    assert cell(panel, 3, "dice", SORT_ROLE) == controller.last_result.metrics.dice[3]
    assert controller.last_result.metrics.dice[3] > 0.9


def test_selecting_a_row_selects_the_class_and_selecting_the_class_selects_the_row(qtbot, review):
    state, _, panel, _ = review
    panel.show()
    row = panel.proxy.mapFromSource(panel.model.index(2, 0)).row()
    rect = panel.table.visualRect(panel.proxy.index(row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.selected_class == 2

    state.select_class(4)
    assert selected_labels(panel) == [4]


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
def test_sorting_by_dice_is_numeric_with_undefined_last_in_both_orders(review, order):
    _, controller, panel, _ = review
    panel.table.sortByColumn(COLUMN["dice"], order)
    shown = [panel.proxy.index(row, COLUMN["dice"]).data(SORT_ROLE) for row in range(panel.proxy.rowCount())]
    assert shown[-1] is None and None not in shown[:-1]
    dice = controller.last_result.metrics.dice
    expected = sorted(dice[~np.isnan(dice)].tolist(), reverse=order == Qt.SortOrder.DescendingOrder)
    assert shown[:-1] == expected


def test_busy_indicator_shows_for_long_computations_only(qtbot, review):
    _, controller, panel, _ = review
    panel.show()
    controller.busy_changed.emit(True)  # e.g. a brush dab: done before the delay, no flicker
    controller.busy_changed.emit(False)
    qtbot.wait(BUSY_DELAY_MS + 150)
    assert not panel.busy_bar.isVisible()

    controller.busy_changed.emit(True)  # e.g. a case load
    qtbot.waitUntil(panel.busy_bar.isVisible, timeout=BUSY_DELAY_MS + 2000)
    controller.busy_changed.emit(False)
    assert not panel.busy_bar.isVisible()


def test_116_classes_fill_a_scrolling_table(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = DiceTablePanel(state, controller)
    qtbot.addWidget(panel)
    panel.resize(500, 400)
    panel.show()
    case = many_label_case()
    state.set_case(case)
    controller.load(case)
    assert panel.model.rowCount() == 116
    assert panel.table.verticalScrollBar().maximum() > 0
    state.select_class(100)
    assert selected_labels(panel) == [100]
    row_rect = panel.table.visualRect(panel.proxy.mapFromSource(panel.model.index(100, 0)))
    assert panel.table.viewport().rect().contains(row_rect.center())  # scrolled into view



def announced_cells(model, metrics, sort_column):
    """``(row, column)`` of every cell ``set_metrics`` announced as changed."""
    cells = []

    def record(top_left, bottom_right, _roles):
        cells.extend((row, column) for row in range(top_left.row(), bottom_right.row() + 1)
                     for column in range(top_left.column(), bottom_right.column() + 1))

    model.dataChanged.connect(record)
    model.set_metrics(metrics, sort_column=sort_column)
    model.dataChanged.disconnect(record)
    return cells


def texts(model, rows):
    return [[model.data(model.index(row, column)) for column in range(FIRST_DISTANCE_COLUMN)] for row in rows]


@pytest.mark.parametrize("sort_column", [0, COLUMN["dice"], None])
def test_only_cells_whose_text_changed_repaint_and_the_table_equals_a_fresh_one(review, sort_column):
    _, controller, panel, case = review
    model, rows = panel.model, range(case.num_classes)
    current = controller.last_result.metrics
    before, old_dice = texts(model, rows), current.dice[1]
    dice, fp = current.dice.copy(), current.fp.copy()
    dice[1] += 1e-5   # as a few voxels do to a large organ: the Dice moves in the 5th decimal ...
    fp[1] += 3        # ... while its false positives move by the voxels
    metrics = dataclasses.replace(current, dice=dice, fp=fp)

    cells = announced_cells(model, metrics, sort_column)

    assert f"{metrics.dice[1]:.3f}" == f"{old_dice:.3f}"
    assert ((1, COLUMN["dice"]) in cells) == (sort_column in (COLUMN["dice"], None))   # key moved, text did not
    assert (1, COLUMN["fp"]) in cells and (0, COLUMN["dice"]) not in cells
    after = texts(model, rows)
    unannounced = {(row, column) for row in rows for column in range(FIRST_DISTANCE_COLUMN)} - set(cells)
    assert all(after[row][column] == before[row][column] for row, column in unannounced)
    fresh = ClassMetricsModel()
    fresh.set_classes([f"class {label}" for label in rows], [(0, 0, 0)] * case.num_classes)
    fresh.set_metrics(metrics)
    assert [row[FIRST_VALUE_COLUMN:] for row in texts(fresh, rows)] == [row[FIRST_VALUE_COLUMN:] for row in after]


CELL_METHODS = ("data", "itemData", "index", "parent", "sibling", "flags", "rowCount", "columnCount", "hasChildren",
                "mapToSource", "mapFromSource")
"""What a view asks a model for each painted cell."""


def python_cell_methods(panel):
    """``(model class, method)`` of every per-cell method a model of the table's chain answers in Python."""
    found, model = set(), panel.table.model()
    while model is not None:
        for klass in type(model).__mro__:
            if not klass.__module__.startswith(("PySide6", "Shiboken", "builtins")):
                found |= {(klass.__name__, name) for name in CELL_METHODS if name in vars(klass)}
        model = model.sourceModel() if hasattr(model, "sourceModel") else None
    return found


def test_the_table_is_painted_without_python(review):
    # Every Python answer to the view takes the GIL; with a background lane busy, a repaint of a brush
    # segment's cells then waits up to the switch interval per answer (the stroke's tail, issue 13).
    _, _, panel, _ = review
    assert python_cell_methods(panel) == set()
    assert panel.model.flags(panel.model.index(1, COLUMN["dice"])) == (Qt.ItemFlag.ItemIsSelectable
                                                                       | Qt.ItemFlag.ItemIsEnabled)


def test_the_soft_columns_join_the_chain_only_while_shown_and_the_selection_stays(review):
    from types import SimpleNamespace

    from PySide6.QtCore import QObject, Signal

    from app.qt.soft_columns import SoftColumns
    from app.qt.soft_controller import SoftUpdate

    class FakeSoftController(QObject):
        soft_ready = Signal(object)
        last_update = None

    state, controller, panel, case = review
    soft = FakeSoftController()
    columns = SoftColumns(panel, soft)
    state.select_class(3)
    assert panel.proxy.sourceModel() is panel.model
    assert columns.proxy.sourceModel() is None   # hidden, it hears none of the table's changes
    classes = np.arange(1, case.num_classes)
    result = SimpleNamespace(classes=classes, soft_dice=np.full(len(classes), 0.75),
                             soft_loss=np.full(len(classes), 0.25), loss_mean=0.25, smooth=1.0)

    soft.soft_ready.emit(SoftUpdate(controller.generation, result, source="probs"))
    assert panel.proxy.sourceModel() is columns.proxy and columns.proxy.sourceModel() is panel.model
    assert panel.proxy.columnCount() == panel.model.columnCount() + 2
    assert panel.proxy.index(panel.proxy.mapFromSource(columns.proxy.index(3, 0)).row(),
                             panel.model.columnCount()).data() == "0.7500"
    assert selected_labels(panel) == [3]

    soft.soft_ready.emit(SoftUpdate(controller.generation, None))   # a case without model output
    assert panel.proxy.sourceModel() is panel.model and python_cell_methods(panel) == set()
    assert columns.proxy.sourceModel() is None
    assert panel.proxy.columnCount() == panel.model.columnCount()
    assert selected_labels(panel) == [3]
