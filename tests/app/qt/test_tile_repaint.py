"""A brush tile repaints only its rectangle of the overlay layer, and the screen then shows what a full
re-render shows (pixels read back from the window's backing store, offscreen)."""

import numpy as np
from PySide6.QtWidgets import QApplication, QWidget

from app.qt.review_state import ReviewState
from app.qt.slice_view import SliceView
from app.qt.tile_repaint import shows_memory_of
from tests.app.qt.test_slice_view import make_case


def on_screen(widget) -> np.ndarray:
    """The window's pixels as the platform holds them (its backing store), not a fresh render."""
    for _ in range(3):
        QApplication.processEvents()
    window = QWidget.window(widget)   # (SliceView.window is its intensity window)
    image = window.screen().grabWindow(window.winId()).toImage()
    return np.array(image.constBits(), copy=True).reshape(image.height(), image.bytesPerLine())


def test_an_edit_repaints_its_tile_without_reconverting_the_layer_and_the_screen_matches_a_full_render(qtbot):
    view = SliceView(ReviewState())
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    case = make_case(shape=(5, 40, 48))
    view.state.set_case(case)
    on_screen(view)
    assert shows_memory_of(view.overlay_item, view._overlay_rgba)   # pyqtgraph shows the array's own memory
    layer = view.overlay_item.qimage

    region = (slice(2, 3), slice(10, 18), slice(20, 31))
    case.pred[region] = np.where(case.pred[region] == 2, 1, 2)
    view.update_region(region)
    tiled = on_screen(view)

    assert view.overlay_item.qimage is layer        # not re-converted: only the tile was repainted
    view.overlay_item.setImage(view._overlay_rgba.copy(), autoLevels=False, levels=None)   # a full render
    np.testing.assert_array_equal(tiled, on_screen(view))


def test_a_layer_not_shown_from_its_array_falls_back_to_a_full_render(qtbot):
    view = SliceView(ReviewState())
    qtbot.addWidget(view)
    view.state.set_case(make_case())
    view.overlay_item.setImage(view._overlay_rgba.copy(), autoLevels=False, levels=None)
    assert not shows_memory_of(view.overlay_item, view._overlay_rgba)
    view.update_region((slice(2, 3), slice(0, 2), slice(0, 2)))
    assert view.overlay_item.image.ctypes.data == view._overlay_rgba.ctypes.data   # given the array again, whole
