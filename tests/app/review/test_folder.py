"""Creating and reopening a review folder: pairing as batch, unmatched files, refusals, corrected paths."""

from __future__ import annotations

import hashlib
import os

import pytest

from app.batch.pairing import pair_cases
from app.errors import InputError
from app.review.folder import ReviewFolder
from app.review.store import ReviewStore
from tests.app.review.review_cases import SHIFTS, write_review_dataset


def _tree(folder):
    """Every file below ``folder`` with its SHA-256 (what "nothing written" compares)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def test_create_pairs_as_batch_and_lists_the_unmatched(tmp_path):
    gt_dir, pred_dir, image_dir = write_review_dataset(tmp_path / "data", unmatched=True, images=True)
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R", image_dir=image_dir) as folder:
        assert folder.cases == pair_cases(gt_dir, pred_dir, image_dir).cases
        assert folder.case_names() == sorted(SHIFTS)
        assert [os.path.basename(p) for p in folder.unmatched.gt_only] == ["lonely_gt.nii.gz"]
        assert [os.path.basename(p) for p in folder.unmatched.pred_only] == ["lonely_pred.nii.gz"]
        assert [os.path.basename(p) for p in folder.unmatched.ignored] == ["notes.txt"]
        assert folder.unmatched.lines() == ["1 ground truth without a prediction: lonely_gt.nii.gz",
                                            "1 prediction without a ground truth: lonely_pred.nii.gz",
                                            "1 not an image file, ignored: notes.txt"]
        assert folder.root == (tmp_path / "R").resolve()
        assert (folder.root / "review.sqlite").is_file()
        assert (folder.root / "cases").is_dir() and (folder.root / "corrected" / "ground-truth").is_dir()
        assert folder.store.config()["image_dir"] == str(image_dir.resolve())


def test_default_out_is_dicelens_review_in_the_working_folder(tmp_path, monkeypatch):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    with ReviewFolder.create(gt_dir, pred_dir) as folder:
        assert folder.root == tmp_path / "dicelens-review"


def test_create_again_with_the_same_inputs_reopens_with_its_verdicts(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as folder:
        folder.store.set_open_case("ana", "case_3")
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as again:
        assert again.store.open_case("ana") == "case_3"
    with ReviewFolder.open(tmp_path / "R") as reopened:
        assert reopened.store.open_case("ana") == "case_3"
        assert reopened.case_names() == sorted(SHIFTS)


def test_create_with_other_inputs_is_refused(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    other_gt, _, _ = write_review_dataset(tmp_path / "other")
    ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R").close()
    before = _tree(tmp_path / "R")
    with pytest.raises(InputError, match="holds a review of other inputs"):
        ReviewFolder.create(other_gt, pred_dir, tmp_path / "R")
    assert _tree(tmp_path / "R") == before


def test_out_inside_an_input_folder_is_refused_before_anything_is_written(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    before = _tree(tmp_path)
    with pytest.raises(InputError, match="is or lies in the input folder --pred-dir"):
        ReviewFolder.create(gt_dir, pred_dir, pred_dir / "R")
    assert _tree(tmp_path) == before


def test_pairing_errors_are_batch_messages_and_write_nothing(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    with pytest.raises(InputError, match="has a prediction of the same name"):
        ReviewFolder.create(tmp_path / "gt", tmp_path / "pred", tmp_path / "R")
    with pytest.raises(InputError, match=r"--gt-dir .* is not a folder"):
        ReviewFolder.create(tmp_path / "nowhere", tmp_path / "pred", tmp_path / "R")
    assert not (tmp_path / "R").exists()


def test_bad_label_table_is_refused_before_the_folder_is_made(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    table = tmp_path / "labels.txt"
    table.write_text('0 "background\n')
    with pytest.raises(InputError):
        ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R", labels=table)
    assert not (tmp_path / "R").exists()


def test_open_errors_write_nothing(tmp_path):
    with pytest.raises(InputError, match="does not exist or is not a folder"):
        ReviewFolder.open(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="is not a review folder"):
        ReviewFolder.open(tmp_path / "plain")
    assert list((tmp_path / "plain").iterdir()) == []


def test_open_when_an_input_folder_is_gone(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R").close()
    pred_dir.rename(tmp_path / "moved")
    before = _tree(tmp_path / "R")
    with pytest.raises(InputError, match=r"--pred-dir .* which is not a folder any more"):
        ReviewFolder.open(tmp_path / "R")
    assert _tree(tmp_path / "R") == before


def test_open_sees_new_cases_added_to_the_inputs(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R").close()
    for folder in (gt_dir, pred_dir):
        (folder / "case_6.nii.gz").write_bytes((folder / "case_1.nii.gz").read_bytes())
    with ReviewFolder.open(tmp_path / "R") as folder:
        assert folder.case_names()[-1] == "case_6"


def test_corrected_paths_keep_the_original_ending_and_substitute_once_written(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    (gt_dir / "case_7.nrrd").write_bytes(b"x")
    (pred_dir / "case_7.seg.nrrd").write_bytes(b"x")
    (gt_dir / "case_8.nii.gz").write_bytes(b"x")
    (pred_dir / "case_8").mkdir()                         # a DICOM folder: corrected as NIfTI
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as folder:
        root = folder.root
        assert folder.corrected_path("case_1", "pred") == root / "corrected" / "case_1.nii.gz"
        assert folder.corrected_path("case_1", "gt") == root / "corrected" / "ground-truth" / "case_1.nii.gz"
        assert folder.corrected_path("case_7", "pred") == root / "corrected" / "case_7.seg.nrrd"
        assert folder.corrected_path("case_7", "gt") == root / "corrected" / "ground-truth" / "case_7.nrrd"
        assert folder.corrected_path("case_8", "pred") == root / "corrected" / "case_8.nii.gz"
        with pytest.raises(ValueError):
            folder.corrected_path("case_1", "image")
        with pytest.raises(KeyError):
            folder.case_files("no_such_case")
        original = folder.case_files("case_1")
        assert not folder.is_corrected("case_1") and original == folder.original_files("case_1")
        folder.corrected_path("case_1", "pred").write_bytes(b"corrected")
        assert folder.is_corrected("case_1")
        substituted = folder.case_files("case_1")
        assert substituted.pred == str(root / "corrected" / "case_1.nii.gz")
        assert substituted.gt == original.gt and substituted.image == original.image
        assert folder.original_files("case_1") == original
        folder.corrected_path("case_2", "gt").write_bytes(b"corrected")
        assert folder.case_files("case_2").gt.endswith("corrected/ground-truth/case_2.nii.gz")
        assert folder.case_files("case_2").pred == folder.original_files("case_2").pred


def test_a_database_made_by_a_newer_version_is_refused_by_the_folder(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R").close()
    store = ReviewStore.open(tmp_path / "R" / "review.sqlite")
    store._db.execute("INSERT INTO schema_version VALUES (7, 'later')")
    store.close()
    before = _tree(tmp_path / "R")
    with pytest.raises(InputError, match="newer DiceLens"):
        ReviewFolder.open(tmp_path / "R")
    with pytest.raises(InputError, match="newer DiceLens"):
        ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R")
    assert _tree(tmp_path / "R") == before


def test_case_result_is_read_again_only_when_its_file_changes(tmp_path):
    from app.batch.worker import case_result_path
    from app.review.scoring import score_pending

    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R") as folder:
        assert folder.case_result("case_1") is None
        list(score_pending(folder))
        first = folder.case_result("case_1")
        assert first is not None and folder.case_result("case_1") is first      # kept, not read again
        path = case_result_path(folder.root, "case_1")
        text = path.read_text()
        path.write_text(text.replace('"case": "case_1"', '"case": "case_1" '))   # replaced by a rescoring
        again = folder.case_result("case_1")
        assert again is not first and again["score"] == first["score"]
        path.unlink()
        assert folder.case_result("case_1") is None


def test_unmatched_lines_are_the_words_of_dicelens_batch(tmp_path, capsys):
    from app.cli import main

    gt_dir, pred_dir, image_dir = write_review_dataset(tmp_path / "data", unmatched=True, images=True)
    (image_dir / "case_4_0000.nii.gz").unlink()
    main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--image-dir", str(image_dir),
          "--out", str(tmp_path / "batch")])
    prefix = "dicelens batch: "
    told = [line[len(prefix):] for line in capsys.readouterr().err.splitlines()
            if line.startswith(prefix) and ("without" in line or "ignored" in line)]
    with ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R", image_dir=image_dir) as folder:
        assert folder.unmatched.lines() == told
        assert "1 cases without an image: case_4" in told
