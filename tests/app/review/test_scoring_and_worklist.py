"""Background scoring into R/cases (shared with batch --resume) and the worklist's rows, order, next and filters."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.batch.worker import case_result_path
from app.cli import main
from app.review.folder import ReviewFolder
from app.review.scoring import pending_cases, score_pending
from app.review.store import Verdict, utc_timestamp
from app.review.worklist import (
    WorklistRow,
    case_row,
    filter_rows,
    next_to_review,
    row_for_case,
    sort_rows,
    worklist_rows,
)
from tests.app.review.review_cases import SHIFTS, WORST_FIRST, expected_mean_dice, write_review_dataset


@pytest.fixture
def folder(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    opened = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R")
    yield opened
    opened.close()


def _verdict(case, status, grade=None, reviewer="ana"):
    return Verdict(case, status, grade, reviewer, utc_timestamp(), 5.0, "", {}, None, 0, None)


def test_score_pending_writes_every_result_and_resumes(folder):
    stop = threading.Event()
    first = []
    for name, result in score_pending(folder, stop=stop):
        first.append(name)
        assert isinstance(result, dict), result
        assert result["score"].dice_mean_foreground == pytest.approx(expected_mean_dice(SHIFTS[name]), abs=1e-12)
        if len(first) == 2:
            stop.set()                     # as a window closing: the rest waits for the next time
    assert first == ["case_1", "case_2"]
    assert pending_cases(folder) == ["case_3", "case_4", "case_5"]
    assert [name for name, _ in score_pending(folder)] == ["case_3", "case_4", "case_5"]
    assert list(score_pending(folder)) == []
    for name in SHIFTS:
        assert case_result_path(folder.root, name).is_file()


def test_a_case_that_cannot_be_scored_yields_its_message_and_stays_pending(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    (pred_dir / "case_3.nii.gz").write_bytes(b"not an image")
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as folder:
        outcomes = dict(score_pending(folder))
        assert isinstance(outcomes["case_3"], str) and "case_3.nii.gz" in outcomes["case_3"]
        assert all(isinstance(outcomes[name], dict) for name in SHIFTS if name != "case_3")
        assert pending_cases(folder) == ["case_3"]
        rows = worklist_rows(folder)
        assert rows[-1].case == "case_3" and not rows[-1].scored


def test_batch_resume_and_review_share_case_results(tmp_path, capsys):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    out = tmp_path / "R"
    with ReviewFolder.create(gt_dir, pred_dir, out) as folder:
        list(score_pending(folder))
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), "--resume"]) == 0
    assert "5 already scored (--resume), 0 to score" in capsys.readouterr().err
    case_result_path(out, "case_2").unlink()
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), "--resume"]) == 0
    with ReviewFolder.open(out) as folder:            # batch's database-free outputs do not disturb the review
        assert pending_cases(folder) == []
        assert [row.case for row in worklist_rows(folder)] == WORST_FIRST


def test_worklist_rows_worst_first_with_review_state(folder):
    unscored = worklist_rows(folder)
    assert [row.case for row in unscored] == sorted(SHIFTS)          # nothing scored: pairing order
    assert not any(row.scored for row in unscored) and {row.status for row in unscored} == {"to review"}
    list(score_pending(folder))
    folder.store.record_verdict(_verdict("case_3", "rejected", 1))
    folder.store.set_in_progress("case_5", "bo")
    folder.store.add_seconds("case_5", 42.0)
    rows = worklist_rows(folder)
    assert [row.case for row in rows] == WORST_FIRST
    by_case = {row.case: row for row in rows}
    for name, shift in SHIFTS.items():
        assert by_case[name].mean_dice == pytest.approx(expected_mean_dice(shift), abs=1e-12)
    assert (by_case["case_3"].status, by_case["case_3"].grade, by_case["case_3"].reviewer) == ("rejected", 1, "ana")
    assert (by_case["case_5"].status, by_case["case_5"].reviewer, by_case["case_5"].seconds) == (
        "in progress", "bo", 42.0)
    assert by_case["case_2"].mean_dice == 1.0 and by_case["case_2"].volume_difference == 0.0
    assert by_case["case_1"].worst_class in by_case["case_1"].class_dice
    assert by_case["case_1"].worst_dice == min(by_case["case_1"].class_dice.values())
    assert by_case["case_1"].hd95 is None                          # scored without surface distances
    for row in rows:
        assert row_for_case(folder, row.case) == row
    folder.store.record_verdict(_verdict("case_4", "accepted", 5))   # 5 s in the verdict, no time added
    assert (row_for_case(folder, "case_4").status, row_for_case(folder, "case_4").seconds) == ("accepted", 5.0)
    assert {row.case: row for row in worklist_rows(folder)}["case_4"] == row_for_case(folder, "case_4")




def _row(case, mean, status="to review", classes=None, scored=True):
    classes = classes if classes is not None else {"liver": mean}
    return WorklistRow(case, mean, None, None, None, None, status, None, None, 0.0, scored, classes)


def test_sort_rows_puts_undefined_then_unscored_last_keeping_ties_in_order():
    rows = [_row("u1", None, scored=False), _row("a", 0.7), _row("empty", None), _row("b", 0.2), _row("c", 0.7)]
    assert [row.case for row in sort_rows(rows)] == ["b", "a", "c", "empty", "u1"]


def test_next_to_review_skips_decided_current_and_taken_cases():
    rows = [_row("w1", 0.1, "accepted"), _row("w2", 0.2, "to review"), _row("w3", 0.3, "in progress"),
            _row("w4", 0.4, "needs correction"), _row("w5", 0.5)]
    assert next_to_review(rows, None) == "w2"
    assert next_to_review(rows, "w2") == "w3"
    assert next_to_review(rows, "w5", taken={"w2"}) == "w3"
    assert next_to_review(rows, "w3", taken={"w2", "w5"}) is None
    assert [row.decided for row in rows] == [True, False, False, True, False]


def test_filter_rows_by_status_class_below_and_search():
    rows = [_row("Case_A", 0.5, classes={"liver": 0.9, "tumour": 0.1}),
            _row("case_b", 0.8, "accepted", classes={"liver": 0.7, "tumour": None}),
            _row("other", None, classes={"liver": None}, scored=False)]
    assert [r.case for r in filter_rows(rows, statuses={"accepted"})] == ["case_b"]
    assert [r.case for r in filter_rows(rows, class_below=("tumour", 0.5))] == ["Case_A"]
    assert [r.case for r in filter_rows(rows, class_below=("liver", 0.8))] == ["case_b"]
    assert [r.case for r in filter_rows(rows, class_below=("liver", 0.7))] == []     # strictly below
    assert [r.case for r in filter_rows(rows, search=" CASE ")] == ["Case_A", "case_b"]
    assert [r.case for r in filter_rows(rows, statuses={"to review"}, search="a")] == ["Case_A"]
    assert filter_rows(rows) == rows
    with pytest.raises(ValueError, match="unknown statuses"):
        filter_rows(rows, statuses={"done"})


def test_case_row_without_result_or_state():
    row = case_row("x", None)
    assert (row.scored, row.status, row.mean_dice, row.reviewer, row.seconds) == (False, "to review", None, None, 0.0)


def test_scoring_killed_midway_resumes_with_the_cases_left(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R").close()
    script = ("import sys\nfrom app.review.folder import ReviewFolder\nfrom app.review.scoring import score_pending\n"
              "folder = ReviewFolder.open(sys.argv[1])\n"
              "for name, _ in score_pending(folder):\n    print(name, flush=True)\n")
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "R")], cwd=root, stdout=subprocess.PIPE,
                             text=True)
    done = [child.stdout.readline().strip(), child.stdout.readline().strip()]
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    assert done == ["case_1", "case_2"]
    with ReviewFolder.open(tmp_path / "R") as folder:
        left = pending_cases(folder)
        assert set(left) | {"case_1", "case_2"} <= set(SHIFTS) and not {"case_1", "case_2"} & set(left)
        assert [name for name, result in score_pending(folder) if isinstance(result, dict)] == left
        assert pending_cases(folder) == []
        assert [row.case for row in worklist_rows(folder)] == WORST_FIRST


def test_worst_class_and_volume_difference_by_hand(tmp_path):
    from tests.app.report.casefiles import SPACING_XYZ, write_volume
    from tests.app.review.review_cases import case_masks

    gt, pred = case_masks(0)
    pred[5, 0:2, 0:4] = 2                  # 8 extra voxels of class 2: its Dice drops, its volume grows
    pred[gt == 1] = 0
    pred[1:5, 2:10, 2:7] = 1               # class 1 predicted on half its width: 160 of 320 voxels
    for folder, array in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir()
        write_volume(array, tmp_path / folder / "only.nii.gz")
    with ReviewFolder.create(tmp_path / "gt", tmp_path / "pred", tmp_path / "R") as folder:
        list(score_pending(folder))
        (row,) = worklist_rows(folder)
    voxel_ml = float(np.prod(SPACING_XYZ)) / 1000
    dice_1, dice_2 = 2 * 160 / (320 + 160), 2 * 320 / (320 + 328)
    assert (row.worst_class, row.worst_dice) == ("label 1", pytest.approx(dice_1))
    assert row.class_dice == {"label 1": pytest.approx(dice_1), "label 2": pytest.approx(dice_2)}
    assert row.mean_dice == pytest.approx((dice_1 + dice_2) / 2)
    assert row.volume_difference == pytest.approx((-160 + 8) * voxel_ml)
