"""The threshold slider: the prediction is re-derived (one-vs-rest at k/1024) on the soft lane and written
as one undoable, journalled edit; every metric follows without a new case; clicking the curve sets the
slider; Ctrl+Z restores the previous prediction and strokes before it stay undoable."""

import functools

import numpy as np
from PySide6.QtCore import QPointF

import tests.app.qt.editing_cases as editing_cases
from app.io import load_case
from app.qt.soft_columns import EDITED_NOTE
from app.qt.threshold_apply import BACK_TO_OPENED, BACK_TO_THRESHOLD, NO_CHANGE
from tests.app.qt.editing_cases import DICE_COLUMN, confusion_of, drag, open_window, table_values
from tests.app.qt.test_distances_gui import assert_same, from_scratch
from tests.app.qt.test_slice_plot import numpy_slice_dice
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)


def brute_force_prediction(scores, label, index):
    """``label`` where ``p_label >= index/1024``, elsewhere the most probable other class."""
    others = scores.astype(np.float64).copy()
    others[label] = -np.inf
    return np.where(scores[label].astype(np.float64) >= index / 1024, label, np.argmax(others, axis=0))


def dice_of(gt, pred, label):
    tp = np.sum((gt == label) & (pred == label))
    return 2 * tp / (np.sum(gt == label) + np.sum(pred == label))


def settled(window):
    """Every lane has answered the latest edit (engine, soft)."""
    controller = window.controller
    return (controller.last_result is not None and controller.last_result.generation == controller.generation
            and not controller.busy and not window.soft_metrics.pending and window.soft_metrics.ready)


def apply_threshold(window, qtbot, index):
    steps = len(window.edits.editor.session.history.undo_steps)
    window.threshold_curve.slider.setValue(index)
    qtbot.waitUntil(lambda: len(window.edits.editor.session.history.undo_steps) == steps + 1 and settled(window),
                    timeout=20_000)


def test_the_slider_re_derives_the_prediction_and_every_metric_follows(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    window.state.set_slice(3)
    case, generation = window.state.case, window.controller.generation
    scores, gt = case.scores, case.gt.copy()
    curve_before = window.threshold_curve.shown_curve
    apply_threshold(window, qtbot, 700)

    expected = brute_force_prediction(scores, 1, 700)
    assert window.state.case is case and window.controller.generation == generation   # no new case: deltas
    np.testing.assert_array_equal(window.state.case.pred, expected)
    np.testing.assert_array_equal(window.controller.last_result.confusion, confusion_of(window.state.case))
    shown_dice = table_values(window, DICE_COLUMN)[1]
    assert shown_dice == dice_of(gt, expected, 1)
    assert shown_dice == curve_before.dice[700]           # the curve predicted it exactly
    panel = window.threshold_curve
    assert panel.current.isVisible() and panel.current.value() == 700 / 1024
    assert window.state.slice_index == 3 and window.state.selected_class == 1
    assert "p >= 0.6836" in window.statusBar().currentMessage()
    assert EDITED_NOTE not in window.soft_columns.headline.text()   # derived from the model: not hand-edited
    np.testing.assert_allclose(window.slice_plot.slice_dice, numpy_slice_dice(window.state.case, 1, 0))
    window.controller.distances.flush()                              # surface distances, in the background
    qtbot.waitUntil(lambda: not window.controller.distances.pending, timeout=20_000)
    assert_same(window.controller.distances.last_update.result, from_scratch(window.state.case))
    assert window.dice_history.edit_records()[-1].description.startswith("threshold 0.6836 for 1 (liver)")


def test_clicking_the_curve_sets_the_slider(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    panel = window.threshold_curve
    view_box = panel.plot.getPlotItem().getViewBox()

    class Click:
        def scenePos(self):
            return view_box.mapViewToScene(QPointF(0.25, 0.5))

    panel._on_plot_clicked(Click())
    assert abs(panel.slider.value() - 256) <= 2
    qtbot.waitUntil(lambda: window.edits.editor.session.history.can_undo and settled(window), timeout=20_000)
    np.testing.assert_array_equal(window.state.case.pred,
                                  brute_force_prediction(window.state.case.scores, 1, panel.slider.value()))


def test_undo_restores_the_previous_prediction_and_strokes_before_stay_undoable(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    original = window.state.case.pred.copy()
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_target("pred")
    toolbar.set_label(2)
    drag(window, [(8, col) for col in range(2, 26, 4)])
    qtbot.waitUntil(lambda: EDITED_NOTE in window.soft_columns.headline.text(), timeout=10_000)
    stroked = window.state.case.pred.copy()
    assert not np.array_equal(stroked, original)
    apply_threshold(window, qtbot, 300)               # with unsaved edits: applied, not refused
    derived = brute_force_prediction(window.state.case.scores, 1, 300)
    np.testing.assert_array_equal(window.state.case.pred, derived)
    assert EDITED_NOTE not in window.soft_columns.headline.text()
    apply_threshold(window, qtbot, 800)
    np.testing.assert_array_equal(window.state.case.pred, brute_force_prediction(window.state.case.scores, 1, 800))

    def undo_and_check(expected, marked):
        toolbar.undo_action.trigger()
        qtbot.waitUntil(lambda: settled(window), timeout=20_000)
        np.testing.assert_array_equal(window.state.case.pred, expected)
        np.testing.assert_array_equal(window.controller.last_result.confusion, confusion_of(window.state.case))
        panel = window.threshold_curve
        assert panel.current.isVisible() == (marked is not None)
        if marked is not None:
            assert panel.current.value() == marked / 1024 and panel.slider.value() == marked

    undo_and_check(derived, 300)                      # Ctrl+Z: the previous threshold's prediction
    assert window.statusBar().currentMessage() == BACK_TO_THRESHOLD.format(threshold=300 / 1024, name="'liver'")
    undo_and_check(stroked, None)                     # then the stroke made before it
    assert window.statusBar().currentMessage() == BACK_TO_OPENED
    qtbot.waitUntil(lambda: EDITED_NOTE in window.soft_columns.headline.text(), timeout=10_000)
    undo_and_check(original, None)                    # then the prediction as opened
    assert EDITED_NOTE not in window.soft_columns.headline.text()
    assert not window.isWindowModified()
    toolbar.redo_action.trigger()
    toolbar.redo_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    np.testing.assert_array_equal(window.state.case.pred, derived)
    assert window.threshold_curve.current.value() == 300 / 1024


def test_a_threshold_step_survives_a_crash(model_window, qtbot, tmp_path, monkeypatch):  # noqa: F811
    window = model_window
    window.state.select_class(3)
    apply_threshold(window, qtbot, 600)
    derived = window.state.case.pred.copy()
    np.testing.assert_array_equal(derived, brute_force_prediction(window.state.case.scores, 3, 600))
    window.edits.editor.close()   # as after a crash: the journal stays, nothing saved
    window.edits.editor = None
    probs = window.case_paths["probs"]
    monkeypatch.setattr(editing_cases, "load_case", functools.partial(load_case, probs=probs))
    paths = {role: str(tmp_path / f"{role}.nii.gz") for role in ("image", "gt", "pred")}
    second = open_window(qtbot, tmp_path, {**paths, "labels": str(tmp_path / "labels.txt")}, recover=True)
    assert "found 1 edit of this case" in second.answers.recovery_questions[0]
    np.testing.assert_array_equal(second.state.case.pred, derived)
    second.state.select_class(3)
    qtbot.waitUntil(lambda: settled(second) and second.threshold_curve.shown_curve is not None, timeout=20_000)
    assert second.threshold_curve.current.value() == 600 / 1024
    second.edit_toolbar.undo_action.trigger()      # the recovered step undoes like any other
    np.testing.assert_array_equal(second.state.case.pred, load_case(paths["gt"], paths["pred"]).pred)
    second.answers.answer = "discard"
    second.close()


def test_save_of_a_prediction_derived_from_the_model_asks_where_and_writes_on_the_ground_truth_grid(qtbot, tmp_path):
    from tests.app.qt.editing_cases import write_case
    from tests.app.qt.test_model_output_window import write_probabilities

    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    model_output = open(probs, "rb").read()
    window = open_window(qtbot, tmp_path, paths)
    window.open_case(paths["gt"], None, image=paths["image"], labels=paths["labels"], probs=probs)   # no --pred
    qtbot.waitUntil(lambda: window.state.case.scores is not None and window.soft_metrics.ready, timeout=20_000)
    window.state.select_class(2)
    apply_threshold(window, qtbot, 400)
    asked = []
    window.ask_save_path = lambda which, current: asked.append(current) or str(tmp_path / "corrected_pred.nii.gz")
    assert window.edits.save("pred")   # File → Save prediction (Ctrl+S)
    assert asked == [probs] and window.answers.replace_questions == []   # Save as…, never "replace the model output?"
    assert open(probs, "rb").read() == model_output
    saved = load_case(paths["gt"], str(tmp_path / "corrected_pred.nii.gz"))   # opens with its ground truth
    np.testing.assert_array_equal(saved.pred, brute_force_prediction(window.state.case.scores, 2, 400))
    assert not window.isWindowModified()
    window.close()


def test_a_one_channel_model_undone_to_its_own_threshold_moves_the_slider_back(qtbot, tmp_path):
    import SimpleITK as sitk

    from tests.app.qt.editing_cases import write_case

    paths = write_case(tmp_path)
    gt = (load_case(paths["gt"], paths["pred"]).gt == 1).astype(np.uint8)
    foreground = np.clip(0.7 * gt + 0.3 * np.random.default_rng(5).random(gt.shape), 0, 1).astype(np.float32)
    np.save(tmp_path / "fg.npy", foreground[None])
    binary = sitk.GetImageFromArray(gt)
    binary.SetSpacing((1.0, 1.0, 2.5))
    sitk.WriteImage(binary, str(tmp_path / "binary.nii.gz"))
    window = open_window(qtbot, tmp_path, paths)
    window.open_case(str(tmp_path / "binary.nii.gz"), None, probs=str(tmp_path / "fg.npy"))
    qtbot.waitUntil(lambda: window.soft_metrics.ready and window.soft_metrics.last_update.result is not None,
                    timeout=20_000)
    window.state.select_class(1)
    panel = window.threshold_curve
    panel.slider.setValue(600)   # every probability lies in [0, 0.3] or [0.7, 1]: the same prediction as 0.5
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == NO_CHANGE.format(threshold=600 / 1024),
                    timeout=20_000)
    assert not window.edits.editor.session.history.can_undo and panel.current.value() == 600 / 1024
    apply_threshold(window, qtbot, 800)
    np.testing.assert_array_equal(window.state.case.pred, (foreground >= 800 / 1024).astype(np.uint8))
    assert panel.current.value() == 800 / 1024
    window.edit_toolbar.undo_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    np.testing.assert_array_equal(window.state.case.pred, (foreground >= 0.5).astype(np.uint8))
    assert panel.current.value() == 0.5 and panel.slider.value() == 512   # the model's own p >= 0.5 again
    window.answers.answer = "discard"
    window.close()


def test_an_exported_report_says_the_prediction_was_re_derived_at_a_threshold(model_window, qtbot,  # noqa: F811
                                                                              monkeypatch):
    import app.qt.report_dialog as report_dialog
    from app.report.soft_content import soft_section
    from app.scoring import score_case

    window = model_window
    exported = []
    monkeypatch.setattr(report_dialog, "export_case_report", lambda parent, case, **kwargs: exported.append(case))
    window.edits.export_report()
    assert exported[-1].prediction_from == "mask"            # the predicted mask given, as opened
    window.state.select_class(1)
    apply_threshold(window, qtbot, 700)
    window.edits.export_report()
    case = exported[-1]
    assert case.prediction_from == "slider" and case.pred is window.state.case.pred   # the masks as reviewed
    section = soft_section(case, score_case(case))
    assert "re-derived in the window" in section.prediction and section.threshold is None
    window.edit_toolbar.undo_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    window.edits.export_report()
    assert exported[-1].prediction_from == "mask"
