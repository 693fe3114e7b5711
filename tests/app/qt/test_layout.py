"""The window's layout stays put: long label names neither widen the slice view nor hide table columns, and
the toolbar fits a 1280-pixel screen with its combo boxes whole."""

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.qt.dice_table import MAX_NAME_COLUMN_CHARS
from app.qt.table_model import NAME_COLUMN
from tests.app.qt.editing_cases import open_window, viewport_point

LONG_NAME = "lesion with a really quite long label name that a readout would have to show in full " * 2


def write_long_name_case(folder):
    gt = np.zeros((6, 40, 48), np.uint8)
    gt[1:5, 5:35, 5:25] = 1
    gt[1:5, 10:30, 25:45] = 2
    pred = np.roll(gt, 2, axis=2)
    paths = {}
    for role, array in (("image", gt.astype(np.int16) * 300), ("gt", gt), ("pred", pred)):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((0.8, 0.8, 3.0))
        paths[role] = str(folder / f"{role}.nii.gz")
        sitk.WriteImage(image, paths[role])
    paths["labels"] = str(folder / "labels.txt")
    (folder / "labels.txt").write_text(f"0 background\n1 brain\n2 {LONG_NAME.strip()}\n")
    return paths


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path, write_long_name_case(tmp_path))
    win.resize(1600, 1000)
    qtbot.wait(20)
    yield win
    win.answers.answer = "discard"
    win.close()


def hover(window, row, col):
    viewport = window.slice_view.graphics.viewport()
    position = QPointF(viewport_point(window, row, col))
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, position, viewport.mapToGlobal(position),
                                                 Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                 Qt.KeyboardModifier.NoModifier))


def test_a_long_label_name_in_the_readout_moves_nothing(window, qtbot):
    view, dock = window.slice_view, window.docks["dice"]
    hover(window, 15, 5)                  # brain: a short name
    qtbot.wait(20)
    before = (view.width(), dock.width(), view.minimumSizeHint().width())
    z = window.state.slice_index
    row, col = np.argwhere(window.state.case.pred[z] == 2)[0]
    hover(window, int(row), int(col))     # the long name
    qtbot.wait(20)
    assert LONG_NAME.strip() in view.readout_text == view.readout_label.full_text
    assert view.readout_label.text().endswith("…")       # elided to the width it has
    assert (view.width(), dock.width(), view.minimumSizeHint().width()) == before


def test_a_long_class_name_does_not_widen_the_table(window):
    table = window.dice_table.table
    widest = table.fontMetrics().horizontalAdvance("x" * MAX_NAME_COLUMN_CHARS) + 40
    assert table.columnWidth(NAME_COLUMN) <= widest
    index = window.dice_table.model.index(2, NAME_COLUMN)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == LONG_NAME.strip()   # whole in the tooltip


def test_the_toolbar_fits_a_1280_pixel_screen_with_whole_combo_boxes(window, qtbot):
    window.resize(int(1280 * 0.95), int(800 * 0.95))     # the first-start size on a 1280 x 800 screen
    qtbot.wait(20)
    toolbar = window.edit_toolbar
    assert toolbar.sizeHint().width() <= window.width()
    combo = toolbar.target_combo
    for index in range(combo.count()):
        text_width = combo.fontMetrics().horizontalAdvance(combo.itemText(index))
        assert combo.sizeHint().width() >= text_width + 20, combo.itemText(index)   # + the arrow
