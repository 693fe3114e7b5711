"""Switching planes by the keyboard with the mouse resting on an anisotropic slice (0.78 x 0.78 x 6.5 mm).

The hovered screen pixel of the axial layout used to be re-read in the coronal layout, where it is out of
range: the readout raised IndexError half-way through the plane switch, which left the axial pixel size on
the image (coronal drawn ~8x squashed) and the brush painting far from the cursor.
"""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.app.qt.editing_cases import drag, open_window, viewport_point, write_nifti_case

SHAPE = (24, 96, 80)
SPACING_XYZ = (0.78, 0.78, 6.5)


def write_anisotropic_case(folder):
    """Image, gt, pred of an MR-like anisotropic volume (24 slices of 6.5 mm, 0.78 mm pixels)."""
    gt = np.zeros(SHAPE, np.uint8)
    gt[4:20, 20:60, 15:55] = 1
    pred = np.roll(gt, 3, axis=2)
    image = np.random.default_rng(0).integers(0, 1000, size=SHAPE).astype(np.int16)
    return write_nifti_case(folder, image, gt, pred, SPACING_XYZ, "0 background\n1 brain\n")


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path, write_anisotropic_case(tmp_path))
    yield win
    win.answers.answer = "discard"
    win.close()


def rest_mouse_on(window, qtbot, row, col):
    """Move the mouse onto screen pixel ``(row, col)`` of the slice shown (real viewport events)."""
    qtbot.wait(10)   # pending layout changes first: the pixel's position depends on them
    viewport = window.slice_view.graphics.viewport()
    position = QPointF(viewport_point(window, row, col))
    # Sent directly: QTest.mouseMove drops a move to where the (global, test-wide) cursor already is.
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, position, viewport.mapToGlobal(position),
                                                 Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                 Qt.KeyboardModifier.NoModifier))


def press_plane_shortcut(window, qtbot, key):
    window.activateWindow()
    window.slice_view.setFocus()
    QTest.keyClick(window.slice_view, key, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_2_over_a_low_axial_row_lays_the_coronal_plane_out_as_a_fresh_start(window, qtbot, tmp_path):
    view = window.slice_view
    rest_mouse_on(window, qtbot, 80, 30)   # axial row 80: beyond the coronal slice's 24 rows
    assert view.cursor_index == (window.state.slice_index, 80, 30)
    press_plane_shortcut(window, qtbot, Qt.Key.Key_2)
    assert window.state.axis == 1 and window.state.slice_index == 80   # through the voxel under the mouse
    assert view.frame.plane == "coronal"
    assert view.image_item.image.shape == (24, 80)

    fresh_folder = tmp_path / "fresh"
    fresh_folder.mkdir()
    fresh = open_window(qtbot, fresh_folder, write_anisotropic_case(fresh_folder))
    fresh.resize(window.size())
    fresh.state.set_axis(1)
    fresh.state.set_slice(80)
    qtbot.wait(10)
    for item in ("image_item", "overlay_item", "highlight_item"):
        assert getattr(view, item).transform() == getattr(fresh.slice_view, item).transform()
    assert view.image_item.transform().m22() == pytest.approx(6.5)
    assert view.image_item.mapRectToParent(view.image_item.boundingRect()) == \
        fresh.slice_view.image_item.mapRectToParent(fresh.slice_view.image_item.boundingRect())
    fresh.answers.answer = "discard"
    fresh.close()


def test_after_the_switch_the_readout_and_the_brush_are_under_the_cursor(window, qtbot):
    view, case = window.slice_view, window.state.case
    rest_mouse_on(window, qtbot, 80, 30)
    press_plane_shortcut(window, qtbot, Qt.Key.Key_2)
    rest_mouse_on(window, qtbot, 2, 70)   # coronal: 2 rows below the top (superior), right part (patient's left)
    z, y, x = view.cursor_index
    assert (y, z, x) == (80, SHAPE[0] - 1 - 2, 70)
    assert "GT: background (0)" in view.readout_text

    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    window.edit_toolbar.radius_spin.setValue(1.0)
    before = case.pred.copy()
    drag(window, [(2, 70), (2, 70)])
    written = np.argwhere(case.pred != before)
    assert written.size, "the stroke wrote nothing"
    assert (z, y, x) in {tuple(v) for v in written}
    assert np.all(written[:, 1] == 80)                       # on the coronal slice shown
    assert np.all(written[:, 0] == z)                        # 6.5 mm slices: a 1 mm brush stays in its row
    assert np.all(np.abs(written[:, 2] - x) * 0.78 <= 1.0)   # within the radius of the cursor
