"""``dicelens review --export`` on a review never opened in a window: every case scored, worst first."""

import csv

import pytest

from app.cli import main
from tests.app.review.review_cases import SHIFTS, WORST_FIRST, expected_mean_dice, write_review_dataset


def test_export_of_a_new_review_scores_the_cases_and_lists_them_worst_first(tmp_path, capsys):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    root = tmp_path / "R"
    assert main(["review", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(root), "--export"]) == 0
    with open(root / "review.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["case"] for row in rows] == WORST_FIRST
    for row in rows:
        assert row["status"] == "to review" and row["dice_after"] == "" and row["grade"] == ""
        assert float(row["dice_before"]) == pytest.approx(expected_mean_dice(SHIFTS[row["case"]]), abs=5e-4)
    assert capsys.readouterr().out.split() == [str(root.resolve() / "review.csv"), str(root.resolve() / "review.pdf")]
