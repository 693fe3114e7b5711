""""Next case" in review mode: what the read-ahead prepared is used, and the new case's numbers are exact.

The mask snapshots and image statistics are prepared off the GUI thread (app/qt/worklist_prefetch.py,
app/image_memo.py); every lane (engine, distances, objects, soft Dice) still gets the new case.
"""

from unittest.mock import patch

import numpy as np
import pytest
from PySide6.QtCore import Qt

import app.qt.engine_controller as engine_controller
import app.window_level as window_level
from app.qt.worklist_controller import WorklistController
from app.qt.worklist_first_table import HELD_LANES, FirstTableGate
from app.review.folder import ReviewFolder
from app.review.scoring import score_pending
from dice_engine.objects import object_scores
from tests.app.qt.editing_cases import DICE_COLUMN, drag, table_values
from tests.app.qt.test_review_session import plain_window
from tests.app.qt.test_review_window import close, key, open_review
from tests.app.review.review_cases import SHIFTS, WORST_FIRST, case_masks, write_review_dataset


@pytest.fixture
def review(qtbot, tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data", images=True)
    window, controller = open_review(qtbot, tmp_path, tmp_path / "R", gt_dir=gt_dir, pred_dir=pred_dir)
    yield window, controller
    close(window, controller.folder)


def brute_force_dice(gt, pred, label):
    a, b = gt == label, pred == label
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def check_every_lane_has_the_case_on_screen(window, shift):
    """The table, the distances, the objects and the soft-Dice lane all describe the case on screen."""
    case, engine = window.state.case, window.controller
    gt, pred = case_masks(shift)
    np.testing.assert_array_equal(case.gt, gt)
    np.testing.assert_array_equal(case.pred, pred)
    assert table_values(window, DICE_COLUMN)[1:] == pytest.approx([brute_force_dice(gt, pred, k) for k in (1, 2)])
    distances = engine.distances.last_update
    assert distances is not None and distances.generation == engine.generation and distances.result is not None
    objects = window.objects.last_update
    assert objects is not None and objects.generation == window.objects._generation and not objects.stale
    expected = object_scores(target=gt, preds=pred, num_classes=case.num_classes)
    assert [c.counts for c in objects.scores.classes] == [c.counts for c in expected.classes]
    assert window.soft_metrics.ready


def test_next_case_takes_the_masks_and_image_statistics_prepared_off_the_gui_thread(review):
    window, controller = review
    snapshots = []
    counted = lambda array: snapshots.append(array.shape) or np.array(array)  # noqa: E731 (a spy)
    with patch.object(engine_controller, "snapshot", counted), \
            patch.object(window_level, "is_ct", wraps=window_level.is_ct) as is_ct:
        key(window, Qt.Key.Key_BracketRight)
        assert controller.current == WORST_FIRST[1] and controller.prefetcher.hits == 1
        assert snapshots == []             # the engine controller copied no mask: the read-ahead had
        assert is_ct.call_count == 0       # the image's window was found ready for the views and toolbar
    gt, pred = window.controller.load_masks
    assert not gt.flags.writeable and not pred.flags.writeable
    check_every_lane_has_the_case_on_screen(window, SHIFTS[WORST_FIRST[1]])


def test_a_case_not_read_ahead_is_prepared_on_the_open_lane_and_exact(review):
    window, controller = review
    controller.prefetcher.forget()
    controller.prefetcher.enabled = False
    snapshots = []
    counted = lambda array: snapshots.append(array.shape) or np.array(array)  # noqa: E731 (a spy)
    with patch.object(engine_controller, "snapshot", counted):
        key(window, Qt.Key.Key_BracketRight)
    assert controller.current == WORST_FIRST[1] and controller.prefetcher.hits == 0
    assert snapshots == []
    check_every_lane_has_the_case_on_screen(window, SHIFTS[WORST_FIRST[1]])


def test_the_masks_read_ahead_are_not_used_when_recovered_strokes_changed_them(review, qtbot, tmp_path):
    window, controller = review
    key(window, Qt.Key.Key_BracketRight)                       # WORST_FIRST[1], read ahead
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(3, 3), (3, 12)])                            # unsaved strokes, then the process "dies":
    window.edits.editor.journal.close()
    painted = window.state.case.pred.copy()
    window2, controller2 = open_review(qtbot, tmp_path, controller.folder.root, reviewer="bob")
    try:
        assert controller2.current == WORST_FIRST[0]
        key(window2, Qt.Key.Key_BracketRight)                  # read ahead, then its journal replayed on opening
        assert controller2.current == WORST_FIRST[1] and controller2.prefetcher.hits == 1
        assert len(window2.answers.recovery_questions) == 1
        np.testing.assert_array_equal(window2.state.case.pred, painted)
        np.testing.assert_array_equal(window2.controller.load_masks[1], painted)
        assert controller2.prefetcher.engines_reused == 0
        gt = window2.state.case.gt
        assert table_values(window2, DICE_COLUMN)[1:] == pytest.approx(
            [brute_force_dice(gt, painted, k) for k in (1, 2)])
    finally:
        close(window2, controller2.folder)


def test_the_gate_holds_the_objects_and_distances_lanes_until_the_table_is_painted(qtbot, tmp_path):
    window = plain_window(qtbot, tmp_path, synchronous=False)
    gate = FirstTableGate(window)
    ran = []
    try:
        gate.hold()
        assert gate.holding
        for lane in HELD_LANES:
            window.jobs.lane(lane).submit("a job after the gate", ran.append, lane)
        qtbot.wait(150)
        assert ran == []                                  # held: the new case's table is not out yet
        with qtbot.waitSignal(gate.table_shown, timeout=10_000):
            gate.result_published()                      # the table paints it (or the fallback fires)
        qtbot.waitUntil(lambda: sorted(ran) == sorted(HELD_LANES), timeout=10_000)
        assert not gate.holding
        gate.hold()
        gate.release()                                   # an open cancelled or failed: the lanes go on at once
        window.jobs.lane("objects").submit("another job", ran.append, "again")
        qtbot.waitUntil(lambda: "again" in ran, timeout=10_000)
    finally:
        window.close()


def test_threaded_next_case_shows_its_exact_table_then_every_lane_follows(qtbot, tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data", images=True)
    folder = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R")
    assert not [case for case, result in score_pending(folder) if isinstance(result, str)]
    window = plain_window(qtbot, tmp_path, synchronous=False)
    review = WorklistController(window, folder, "carol", score=False)
    engine = window.controller
    try:
        review.open_case(review.first_case())
        qtbot.waitUntil(lambda: review.current == WORST_FIRST[0] and engine.last_result is not None, timeout=30_000)
        qtbot.waitUntil(lambda: review.prefetcher.ahead and not review.prefetcher.busy, timeout=30_000)
        key(window, Qt.Key.Key_BracketRight)
        qtbot.waitUntil(lambda: review.current == WORST_FIRST[1] and engine.last_result is not None
                        and engine.last_result.generation == engine.generation, timeout=30_000)
        assert review.prefetcher.hits == 1 and review.prefetcher.engines_reused == 1
        gt, pred = case_masks(SHIFTS[WORST_FIRST[1]])
        assert table_values(window, DICE_COLUMN)[1:] == pytest.approx([brute_force_dice(gt, pred, k) for k in (1, 2)])
        qtbot.waitUntil(lambda: engine.distances.last_update is not None
                        and engine.distances.last_update.generation == engine.generation, timeout=30_000)
        qtbot.waitUntil(lambda: window.objects.last_update is not None and not window.objects.pending, timeout=30_000)
        qtbot.waitUntil(lambda: review.prefetcher.ahead and not review.first_table.holding, timeout=30_000)
        check_every_lane_has_the_case_on_screen(window, SHIFTS[WORST_FIRST[1]])
        assert not window.answers.errors
    finally:
        window.answers.answer = "discard"
        window.close()
        review.folder.close()
