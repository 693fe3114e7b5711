"""The worklist heartbeat touches only the rows whose review state changed (app/qt/worklist_heartbeat.py)."""

from dataclasses import replace
from unittest.mock import patch

import pytest

from app.qt.worklist_heartbeat import changed_rows
from app.review.worklist import worklist_rows
from tests.app.qt.test_review_window import VERDICT_TEMPLATE, close, open_review
from tests.app.review.review_cases import WORST_FIRST, write_review_dataset


@pytest.fixture
def review(qtbot, tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    window, controller = open_review(qtbot, tmp_path, tmp_path / "R", gt_dir=gt_dir, pred_dir=pred_dir)
    yield window, controller
    close(window, controller.folder)


class ModelSignals:
    """Every row signal of a table model, recorded."""

    def __init__(self, model) -> None:
        self.events = []
        model.modelReset.connect(lambda: self.events.append(("reset",)))
        model.layoutChanged.connect(lambda *_: self.events.append(("layout",)))
        model.rowsInserted.connect(lambda *_: self.events.append(("inserted",)))
        model.rowsRemoved.connect(lambda *_: self.events.append(("removed",)))
        model.dataChanged.connect(lambda top, bottom, *_: self.events.append(("data", top.row(), bottom.row())))


def test_a_heartbeat_without_change_touches_no_row_and_reads_no_stored_result(review):
    _window, controller = review
    signals = ModelSignals(controller.panel.model)
    with patch.object(controller.folder, "case_result", wraps=controller.folder.case_result) as lookups:
        controller.heartbeat()
    assert signals.events == []
    assert lookups.call_count == 0   # every case is scored: its scores are not looked up again


def test_one_verdict_from_another_window_touches_one_row(review):
    _window, controller = review
    model = controller.panel.model
    case = WORST_FIRST[3]
    store = controller.folder.store
    store.record_verdict(replace(VERDICT_TEMPLATE, case=case, reviewer="bob"))   # bob's window, elsewhere
    signals = ModelSignals(model)
    controller.heartbeat()
    row = model.rows.index(model.row_of(case))
    assert signals.events == [("data", row, row)]
    assert model.row_of(case).status == "rejected" and model.row_of(case).reviewer == "bob"
    assert {r.case: r for r in model.rows} == {r.case: r for r in worklist_rows(controller.folder)}


def test_changed_rows_are_the_rows_the_folder_gives_now(review):
    _window, controller = review
    folder, store = controller.folder, controller.folder.store
    shown = list(controller.panel.model.rows)
    store.record_verdict(replace(VERDICT_TEMPLATE, case=WORST_FIRST[1], reviewer="bob", seconds=7.0))
    store.set_in_progress(WORST_FIRST[2], "carol")
    store.add_seconds(WORST_FIRST[4], 12.5)
    unscored = replace(shown[3], mean_dice=None, worst_class=None, worst_dice=None, hd95=None,
                       volume_difference=None, scored=False, class_dice={})
    shown[3] = unscored   # shown before the case was scored (by another process, say)
    now = {row.case: row for row in worklist_rows(folder)}
    changed = changed_rows(shown, folder)
    assert {row.case for row in changed} == {WORST_FIRST[1], WORST_FIRST[2], WORST_FIRST[4], unscored.case}
    for row in changed:
        assert row == now[row.case] and row.class_dice == now[row.case].class_dice
    assert changed_rows(list(now.values()), folder) == []
