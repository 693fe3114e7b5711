"""Corrected masks land in R/corrected/ in the source's format and geometry; the originals keep their bytes."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import load_case
from app.review.corrected import write_corrected
from app.review.folder import ReviewFolder
from tests.app.review.review_cases import write_review_dataset


def _digests(*folders):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for folder in folders for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def dataset(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    folder = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R")
    yield folder, gt_dir, pred_dir
    folder.close()


@pytest.mark.parametrize("with_like", [True, False])
def test_corrected_prediction_round_trip_originals_untouched(dataset, with_like):
    folder, gt_dir, pred_dir = dataset
    originals = _digests(gt_dir, pred_dir)
    files = folder.case_files("case_3")
    case = load_case(files.gt, files.pred)
    corrected = case.pred.copy()
    corrected[case.gt == 1] = 1                          # the reviewer repaints class 1
    like = case.sources["pred"] if with_like else None
    written = write_corrected(folder, "case_3", "pred", corrected, files.pred, like=like)
    assert written == folder.root / "corrected" / "case_3.nii.gz"
    assert _digests(gt_dir, pred_dir) == originals
    assert folder.is_corrected("case_3")
    reopened = load_case(*(lambda f: (f.gt, f.pred))(folder.case_files("case_3")))
    np.testing.assert_array_equal(reopened.pred, corrected)
    source, result = sitk.ReadImage(files.pred), sitk.ReadImage(str(written))
    assert result.GetSpacing() == source.GetSpacing() and result.GetOrigin() == source.GetOrigin()
    assert result.GetDirection() == source.GetDirection()
    assert result.GetPixelID() == source.GetPixelID()
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".")]   # no temporary left


def test_corrected_ground_truth_goes_to_its_own_folder(dataset):
    folder, _, _ = dataset
    files = folder.case_files("case_1")
    case = load_case(files.gt, files.pred)
    written = write_corrected(folder, "case_1", "gt", case.pred, files.gt, like=case.sources["gt"])
    assert written == folder.root / "corrected" / "ground-truth" / "case_1.nii.gz"
    assert folder.case_files("case_1").gt == str(written)
    assert folder.case_files("case_1").pred == files.pred


def test_corrected_folder_that_leads_into_an_input_is_refused(dataset):
    folder, gt_dir, pred_dir = dataset
    originals = _digests(gt_dir, pred_dir)
    corrected = folder.root / "corrected"
    for entry in sorted(corrected.rglob("*"), reverse=True):
        entry.rmdir()
    corrected.rmdir()
    corrected.symlink_to(pred_dir, target_is_directory=True)
    files = folder.case_files("case_2")
    case = load_case(files.gt, files.pred)
    with pytest.raises(InputError, match="input"):
        write_corrected(folder, "case_2", "pred", case.pred, files.pred, like=case.sources["pred"])
    assert _digests(gt_dir, pred_dir) == originals


def test_labels_that_do_not_fit_are_an_input_error(dataset):
    folder, _, _ = dataset
    files = folder.case_files("case_2")
    case = load_case(files.gt, files.pred)
    with pytest.raises(InputError, match="integer labels"):
        write_corrected(folder, "case_2", "pred", case.pred.astype(np.float32), files.pred)
    assert not folder.is_corrected("case_2")
