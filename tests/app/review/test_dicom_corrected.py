"""Corrections of DICOM cases: a SEG is corrected as a new SEG of its series, an RTSTRUCT as NIfTI."""

from __future__ import annotations

import hashlib

import highdicom as hd
import numpy as np
import pytest

from app.errors import InputError
from app.io import load_case
from app.io.dicom_objects import SEG_FORMAT
from app.model.case_editor import CaseEditor
from app.review.folder import ReviewFolder
from tests.app.review.dicom_review_cases import RT_CASE, SEG_CASE, write_dicom_review_dataset
from tests.app.review.review_cases import write_review_dataset


@pytest.fixture
def folder(tmp_path):
    gt_dir, pred_dir, image_dir = write_dicom_review_dataset(tmp_path / "data")
    opened = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R", image_dir=image_dir)
    yield opened
    opened.close()


def _load(folder, case):
    files = folder.case_files(case)
    return load_case(files.gt, files.pred, image=files.image)


def test_a_seg_is_corrected_as_dcm_an_rtstruct_as_nifti_and_the_title_note_says_which(folder):
    assert folder.corrected_path(SEG_CASE, "pred") == folder.root / "corrected" / f"{SEG_CASE}.dcm"
    assert folder.corrected_path(SEG_CASE, "gt") == folder.root / "corrected" / "ground-truth" / f"{SEG_CASE}.dcm"
    assert folder.corrected_path(RT_CASE, "pred") == folder.root / "corrected" / f"{RT_CASE}.nii.gz"
    assert folder.corrected_note(SEG_CASE) == folder.corrected_note(RT_CASE) == ""
    for case in (SEG_CASE, RT_CASE):
        editor = CaseEditor(_load(folder, case), journal=False)
        editor.session.mask("pred")[0, 0, 0] = 1
        editor.save("pred", folder.corrected_path(case, "pred"))
    assert folder.corrected_note(SEG_CASE) == "corrected"
    assert folder.corrected_note(RT_CASE) == "corrected, saved as NIfTI"


def test_saving_a_seg_case_to_dcm_writes_a_seg_that_reads_back_and_never_the_input(folder):
    original = folder.original_files(SEG_CASE).pred
    digest = hashlib.sha256(open(original, "rb").read()).hexdigest()
    case = _load(folder, SEG_CASE)
    editor = CaseEditor(case, journal=False)
    editor.author = "Dr Who"
    editor.session.mask("pred")[:, 0:3, 0:3] = 2
    with pytest.raises(InputError, match="never written over"):
        editor.save("pred")                         # the input SEG itself
    target = folder.corrected_path(SEG_CASE, "pred")
    edited = editor.session.mask("pred").copy()
    assert editor.save("pred", target) == target
    assert case.sources["pred"].format == SEG_FORMAT and case.sources["pred"].path == str(target)
    assert not editor.session.modified
    seg = hd.seg.segread(target)
    assert str(seg.ContentCreatorName) == "Dr Who^" and seg.SeriesDescription == "DiceLens corrected"
    np.testing.assert_array_equal(_load(folder, SEG_CASE).pred, edited)   # case_files now gives the correction
    editor.session.mask("pred")[:, 0:3, 0:3] = 0
    editor.save("pred", target)                     # the correction itself may be replaced
    np.testing.assert_array_equal(_load(folder, SEG_CASE).pred, editor.session.mask("pred"))
    assert hashlib.sha256(open(original, "rb").read()).hexdigest() == digest


def test_saving_as_dcm_without_a_dicom_series_is_one_clear_message(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    editor = CaseEditor(load_case(gt_dir / "case_1.nii.gz", pred_dir / "case_1.nii.gz"), journal=False)
    with pytest.raises(InputError, match="DICOM image series"):
        editor.save("pred", tmp_path / "out.dcm")
    assert not (tmp_path / "out.dcm").exists()
