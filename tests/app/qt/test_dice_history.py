"""The Dice history dock: one point per completed action, values from the engine, undo/redo included."""

import math

import numpy as np

from tests.app.qt.editing_cases import drag, write_case


def test_one_point_per_stroke_undo_and_redo_with_the_engine_values(window):
    history = window.dice_history
    controller = window.controller
    assert len(history.points) == 1                          # the case as opened
    start = history.points[0].mean_dice
    assert start == controller.last_result.dice_mean_foreground
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(2)
    drag(window, [(14, 5), (14, 14)])                        # tumour painted over liver/background
    drag(window, [(18, 17), (18, 25)])
    after_two = controller.last_result.dice_mean_foreground
    window.edit_toolbar.undo_action.trigger()
    window.edit_toolbar.redo_action.trigger()
    assert len(history.points) == 5
    means = [p.mean_dice for p in history.points]
    assert means[-1] == after_two and means[3] == means[1]   # undo of stroke 2 returns to after stroke 1
    np.testing.assert_array_equal(history.points[-1].dice, controller.last_result.metrics.dice)
    assert [p.edit.description for p in history.points[1:]] == [
        "brush 2 (tumour), prediction", "brush 2 (tumour), prediction",
        "undo brush 2 (tumour), prediction", "redo brush 2 (tumour), prediction"]
    x, y = history.mean_curve.getData()
    assert list(x) == [0, 1, 2, 3, 4] and np.allclose(y, means)
    assert "4 edits" in history.caption.text()


def test_selected_class_curve_follows_the_selection(window):
    history = window.dice_history
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(3, 3), (3, 9)])
    window.state.select_class(3)
    _, y = history.class_curve.getData()
    expected = [p.dice[3] for p in history.points]
    assert np.allclose(y, expected, equal_nan=True)


def test_edit_records_give_the_report_dice_before_and_after(window):
    window.edit_toolbar.tool_actions["eraser"].trigger()
    drag(window, [(8, 8), (8, 12)])
    records = window.dice_history.edit_records()
    assert len(records) == 1
    record = records[0]
    points = window.dice_history.points
    assert record.mask == "pred" and record.description == "eraser, prediction"
    assert record.voxels_changed == window.edits.editor.session.history.undo_steps[-1].voxel_count > 0
    assert math.isclose(record.dice_before, points[0].mean_dice) and math.isclose(record.dice_after,
                                                                                  points[1].mean_dice)


def test_a_new_case_starts_a_new_history(window, qtbot, tmp_path):
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(3, 3), (3, 9)])
    assert len(window.dice_history.points) == 2
    window.answers.answer = "discard"
    other = tmp_path / "other"
    other.mkdir()
    paths = write_case(other, seed=3)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    assert window.answers.questions and len(window.dice_history.points) == 1


def test_dice_axis_zooms_to_the_values_so_small_changes_show(window):
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(3, 3), (3, 9)])
    low, high = window.dice_history.plot.getPlotItem().viewRange()[1]
    values = [v for p in window.dice_history.points for v in (p.mean_dice, p.dice[1])]
    assert 0.0 <= low <= min(values) and max(values) <= high <= 1.0
    assert high - low < 0.5
