"""The real path with the engine in its own thread: the table follows a drag before the mouse is released."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.qt.editing_cases import (
    FN_COLUMN,
    FP_COLUMN,
    confusion_of,
    open_window,
    table_values,
    viewport_point,
    write_case,
)


def table_matches_masks(window):
    cm = confusion_of(window.state.case)
    return (table_values(window, FP_COLUMN) == (cm.sum(0) - np.diag(cm)).tolist()
            and table_values(window, FN_COLUMN) == (cm.sum(1) - np.diag(cm)).tolist())


def test_table_updates_during_the_drag_with_the_engine_thread(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, write_case(tmp_path), synchronous=False)
    assert window.controller.threaded                    # the real worker thread
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(3)
    viewport = window.slice_view.graphics.viewport()
    points = [viewport_point(window, 6, col) for col in range(2, 26, 4)]
    fp_kidney = [table_values(window, FP_COLUMN)[3]]
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for point in points[1:]:
        QTest.mouseMove(viewport, point)
        qtbot.waitUntil(lambda: table_matches_masks(window), timeout=10_000)
        fp_kidney.append(table_values(window, FP_COLUMN)[3])
    assert window.edits.editor.session.stroke_active   # still dragging: the button is down
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])
    assert fp_kidney == sorted(fp_kidney) and fp_kidney[-1] > fp_kidney[0]
    # One Dice-history point for the drag, taken once the engine had answered every segment.
    qtbot.waitUntil(lambda: len(window.dice_history.points) == 2, timeout=10_000)
    assert window.dice_history.points[-1].mean_dice == window.controller.last_result.dice_mean_foreground
    window.answers.answer = "discard"
    window.close()
