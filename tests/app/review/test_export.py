"""``R/review.csv`` rows, order and format, and ``R/review.pdf``'s content."""

from __future__ import annotations

import csv
import io

import pytest

from app.io import load_case
from app.review.corrected import write_corrected
from app.review.export import CSV_COLUMNS, export_review, mean_foreground, review_csv, review_summary, review_table
from app.review.folder import ReviewFolder
from app.review.scoring import score_pending
from app.review.store import Verdict
from tests.app.report.casefiles import pdf_images, pdf_text
from tests.app.review.review_cases import SHIFTS, WORST_FIRST, expected_mean_dice, write_review_dataset


def _verdict(case, status, grade, reviewer="ana", **changes):
    fields = {"case": case, "status": status, "grade": grade, "reviewer": reviewer,
              "reviewed_at": "2026-11-27T10:00:00+00:00", "seconds": 30.0, "comment": "", "dice_before": {},
              "dice_after": None, "voxels_changed": 0, "corrected_path": None}
    return Verdict(**{**fields, **changes})


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """Five scored cases: case_3 corrected, case_5 rejected, case_2 accepted, case_1 in progress, case_4 untouched."""
    root = tmp_path_factory.mktemp("export")
    gt_dir, pred_dir, image_dir = write_review_dataset(root / "data", unmatched=True, images=True)
    folder = ReviewFolder.create(gt_dir, pred_dir, root / "R", image_dir=image_dir)
    list(score_pending(folder))
    files = folder.case_files("case_3")
    case = load_case(files.gt, files.pred, image=files.image)
    fixed = case.gt.copy()                                   # the reviewer's correction: the prediction made right
    written = write_corrected(folder, "case_3", "pred", fixed, files.pred, like=case.sources["pred"])
    folder.store.record_verdict(_verdict("case_3", "needs correction", 2))
    folder.store.record_verdict(_verdict(
        "case_3", "corrected", 3, comment="repainted both organs", dice_before={"label 1": 0.5, "label 2": 0.7},
        dice_after={"label 1": 1.0, "label 2": 1.0}, voxels_changed=640, corrected_path=str(written)))
    folder.store.record_verdict(_verdict("case_5", "rejected", 1, reviewer="bo", comment="=wrong side, redo"))
    folder.store.record_verdict(_verdict("case_2", "accepted", None))
    folder.store.set_in_progress("case_1", "bo")
    folder.store.add_seconds("case_1", 12.25)
    folder.store.add_seconds("case_3", 95.0)
    csv_path, pdf_path = export_review(folder)
    yield folder, csv_path, pdf_path
    folder.close()


def test_mean_foreground_of_verdict_figures_by_hand():
    assert mean_foreground({"liver": 0.5, "kidney": 1.0, "absent": None}) == 0.75
    assert mean_foreground({"absent": None}) is None
    assert mean_foreground({}) is None and mean_foreground(None) is None


def test_csv_rows_in_worklist_order_with_three_decimal_dice_and_empty_cells(reviewed):
    folder, csv_path, _ = reviewed
    assert csv_path == folder.root / "review.csv"
    text = csv_path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["case"] for row in rows] == WORST_FIRST
    by_case = {row["case"]: row for row in rows}
    for name, shift in SHIFTS.items():
        assert by_case[name]["dice_before"] == f"{expected_mean_dice(shift):.3f}"
    assert by_case["case_3"] == {
        "case": "case_3", "status": "corrected", "grade": "3", "reviewer": "ana",
        "reviewed_at": "2026-11-27T10:00:00+00:00", "seconds": "95.0", "comment": "repainted both organs",
        "dice_before": f"{expected_mean_dice(4):.3f}", "dice_after": "1.000", "voxels_changed": "640",
        "corrected_path": str(folder.root / "corrected" / "case_3.nii.gz")}
    assert by_case["case_5"]["comment"] == "'=wrong side, redo"        # no formula reaches a spreadsheet
    assert (by_case["case_5"]["seconds"], by_case["case_5"]["dice_after"]) == ("30.0", "")
    assert (by_case["case_2"]["status"], by_case["case_2"]["grade"]) == ("accepted", "")
    assert {k: by_case["case_1"][k] for k in ("status", "reviewer", "seconds", "grade", "reviewed_at")} == {
        "status": "in progress", "reviewer": "bo", "seconds": "12.2", "grade": "", "reviewed_at": ""}
    untouched = dict(by_case["case_4"])
    assert untouched.pop("status") == "to review" and untouched.pop("case") == "case_4"
    assert untouched.pop("dice_before") == f"{expected_mean_dice(1):.3f}"
    assert set(untouched.values()) == {""}


def test_unscored_case_without_verdict_has_empty_dice(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as folder:
        folder.store.record_verdict(_verdict("case_2", "rejected", 2, dice_before={"a": 0.25, "b": 0.75}))
        table = review_table(folder)
        records = {record["case"]: record for record in table}
        assert records["case_1"]["dice_before"] is None
        assert records["case_2"]["dice_before"] == 0.5                  # from the verdict when never scored
        assert next(csv.DictReader(io.StringIO(review_csv(table))))["dice_before"] == ""


def test_summary_counts_grades_and_dice_pairs(reviewed):
    folder, _, _ = reviewed
    summary = review_summary(folder)
    assert dict(summary.status_counts) == {"to review": 1, "in progress": 1, "accepted": 1, "needs correction": 0,
                                           "corrected": 1, "rejected": 1}
    assert dict(summary.grade_counts) == {1: 1, 2: 0, 3: 1, 4: 0, 5: 0}
    assert summary.ungraded == 1 and summary.reviewers == ("ana", "bo")
    assert summary.dice_pairs == (("case_3", pytest.approx(expected_mean_dice(4)), 1.0),)
    assert [case.case for case in summary.highlighted] == ["case_3", "case_5"]
    corrected = summary.highlighted[0]
    assert [snapshot.label for snapshot in corrected.snapshots] == ["before", "after correction"]
    before, after = (snapshot.key_slice for snapshot in corrected.snapshots)
    assert after.dice == 1.0 and after.fp == after.fn == 0             # the correction made it right
    assert (after.slice_index, after.crop, after.class_index) == (before.slice_index, before.crop, before.class_index)
    assert (after.pred == after.gt).all() and (after.gt == before.gt).all()
    assert corrected.snapshots[0].key_slice.dice < 1.0
    assert summary.unmatched and summary.total_cases == summary.scored_cases == 5


def test_pdf_shows_counts_grades_plot_and_the_cases_with_comments_and_slices(reviewed):
    _, _, pdf_path = reviewed
    text = pdf_text(pdf_path)
    for expected in ("Dataset review summary", "Verdicts", "rejected", "1 (20%)", "Grades", "grade 5",
                     "Mean foreground Dice before vs after correction", f"case_3: {expected_mean_dice(4):.3f}",
                     "Rejected and corrected cases (2)", "repainted both organs", "=wrong side, redo",
                     "after correction", "1 ground truth without a prediction: lonely_gt.nii.gz"):
        assert expected in text, expected
    assert len(pdf_images(pdf_path)) >= 3                               # before/after of case_3, case_5's slice


def test_export_writes_no_temporary_files(reviewed):
    folder, _, _ = reviewed
    assert not [path.name for path in folder.root.iterdir() if path.name.startswith(".")]


def test_a_pdf_that_cannot_be_written_is_one_input_error(tmp_path, monkeypatch):
    import app.report.review_summary_pdf as writer
    from app.errors import InputError

    def refuse(summary, path, paper="a4"):
        raise OSError(f"could not write the PDF '{path}' (is the folder writable?)")

    monkeypatch.setattr(writer, "write_review_summary", refuse)
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as folder:
        with pytest.raises(InputError, match=r"review\.pdf.*writable"):
            export_review(folder)


def test_a_corrected_case_is_drawn_where_the_correction_changed_most_voxels(tmp_path):
    gt_dir, pred_dir, image_dir = write_review_dataset(tmp_path / "data", images=True)
    folder = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R", image_dir=image_dir)
    try:
        list(score_pending(folder))
        files = folder.case_files("case_3")
        case = load_case(files.gt, files.pred, image=files.image)
        fixed = case.pred.copy()
        fixed[4] = case.gt[4]                                # the reviewer repaints slice 4 only
        fixed[2, 3:6, 3:6] = 2                               # and a few voxels elsewhere
        write_corrected(folder, "case_3", "pred", fixed, files.pred, like=case.sources["pred"])
        folder.store.record_verdict(_verdict("case_3", "corrected", 4, voxels_changed=1))
        (reviewed_case,) = review_summary(folder).highlighted
        before, after = (snapshot.key_slice for snapshot in reviewed_case.snapshots)
        assert (before.slice_index, before.kinds) == (4, ("most voxels corrected",))
        assert (after.slice_index, after.crop, after.class_index) == (4, before.crop, before.class_index)
        rows, cols = before.crop
        label = before.class_index
        assert (before.pred == (case.pred[4] == label)[rows, cols]).all()
        assert (after.pred == (fixed[4] == label)[rows, cols]).all() and after.dice == 1.0
        assert (before.pred != after.pred).any() and before.image is not None
    finally:
        folder.close()
