"""Units the window states (LPS mm, or px for images without a pixel size) and text refreshed after edits."""

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.io import load_case
from app.qt.table_model import FIRST_DISTANCE_COLUMN
from app.qt.voxel_readout import describe_voxel, distance_unit
from tests.app.qt.editing_cases import click, open_window, viewport_point, write_case


def write_png_case(folder):
    gt = np.zeros((20, 24), np.uint8)
    gt[4:14, 5:15] = 1
    paths = {"gt": str(folder / "cells_gt.png"), "pred": str(folder / "cells_pred.png"),
             "image": str(folder / "cells.png"), "labels": str(folder / "labels.txt")}
    sitk.WriteImage(sitk.GetImageFromArray(gt), paths["gt"])
    sitk.WriteImage(sitk.GetImageFromArray(np.roll(gt, 2, axis=1)), paths["pred"])
    sitk.WriteImage(sitk.GetImageFromArray(gt * 200), paths["image"])
    (folder / "labels.txt").write_text("0 background\n1 cell\n")
    return paths


def test_png_masks_have_no_physical_spacing_and_nifti_masks_do(tmp_path):
    png = write_png_case(tmp_path)
    assert not load_case(png["gt"], png["pred"]).has_physical_spacing
    volume = tmp_path / "volume"
    volume.mkdir()
    nifti = write_case(volume)
    assert load_case(nifti["gt"], nifti["pred"]).has_physical_spacing


def test_a_png_with_a_stored_pixel_size_has_physical_spacing(tmp_path):
    gt = sitk.GetImageFromArray(np.eye(8, dtype=np.uint8))
    gt.SetSpacing((0.25, 0.25))
    sitk.WriteImage(gt, str(tmp_path / "gt.tif"))
    sitk.WriteImage(gt, str(tmp_path / "pred.tif"))
    case = load_case(str(tmp_path / "gt.tif"), str(tmp_path / "pred.tif"))
    assert case.geometry.spacing[:2] == pytest.approx((0.25, 0.25))
    assert case.has_physical_spacing


@pytest.fixture
def png_window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path, write_png_case(tmp_path))
    yield win
    win.answers.answer = "discard"
    win.close()


def test_a_png_case_states_distances_in_pixels(png_window):
    case = png_window.state.case
    assert distance_unit(case) == "px"
    text = describe_voxel(case, (0, 5, 6))
    assert text.startswith("pixel (6, 5)") and " mm" not in text
    model = png_window.dice_table.model
    header = model.headerData(FIRST_DISTANCE_COLUMN, Qt.Orientation.Horizontal)
    assert header == "HD95 px"
    assert "pixels" in model.headerData(FIRST_DISTANCE_COLUMN, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert png_window.edit_toolbar.radius_spin.suffix() == " px"


def hover(window, row, col):
    """Rest the mouse on screen pixel ``(row, col)`` (a move event sent to the slice view's viewport)."""
    viewport = window.slice_view.graphics.viewport()
    position = QPointF(viewport_point(window, row, col))
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, position, viewport.mapToGlobal(position),
                                                 Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                 Qt.KeyboardModifier.NoModifier))


def test_a_volume_states_lps_millimetres(window):
    assert distance_unit(window.state.case) == "mm"
    window.slice_view._update_readout(3, 4)
    assert "LPS (" in window.slice_view.readout_text and ") mm" in window.slice_view.readout_text
    model = window.dice_table.model
    assert model.headerData(FIRST_DISTANCE_COLUMN, Qt.Orientation.Horizontal) == "HD95 mm"
    assert window.edit_toolbar.radius_spin.suffix() == " mm"


def test_readout_and_matrix_line_follow_an_edit_under_the_cursor(window):
    view, case = window.slice_view, window.state.case
    z = window.state.slice_index
    assert case.pred[z, 8, 10] == 1
    hover(window, 8, 10)             # a voxel predicted as liver (1)
    assert "prediction: liver (1)" in view.readout_text
    panel = window.confusion_panel
    panel._on_mouse_moved(panel.cell_center_in_scene(1, 1))
    before = panel.info_label.text()
    assert f"{int(panel._confusion[1, 1]):,} voxels" in before

    window.edit_toolbar.tool_actions["fill"].trigger()     # fill the hovered region with kidney (3)
    window.edit_toolbar.set_label(3)
    click(window, 8, 10)
    assert case.pred[z, 8, 10] == 3
    assert "prediction: kidney (3)" in view.readout_text
    after = panel.info_label.text()
    assert after != before and f"{int(panel._confusion[1, 1]):,} voxels" in after
