"""The report's case name comes from the input paths: dataset id, else common stem, else folder."""

import pytest

from app.report.case_name import dataset_id, report_case_name


@pytest.mark.parametrize(("gt", "pred", "image", "name"), [
    # nnU-Net: labels case_0001, images case_0001_0000
    ("/d/labelsTr/case_0001.nii.gz", "/d/pred/case_0001.nii.gz", "/d/imagesTr/case_0001_0000.nii.gz", "case_0001"),
    ("/d/labelsTs/la_003.nii.gz", "/p/la_003.nii.gz", None, "la_003"),
    # BraTS 2023 and 2021 style
    ("/b/BraTS-GLI-00000-000/BraTS-GLI-00000-000-seg.nii.gz", "/p/BraTS-GLI-00000-000.nii.gz",
     "/b/BraTS-GLI-00000-000/BraTS-GLI-00000-000-t1n.nii.gz", "BraTS-GLI-00000-000"),
    ("/b/BraTS2021_00001_seg.nii.gz", "/p/BraTS2021_00001_pred.nii.gz", "/b/BraTS2021_00001_t1ce.nii.gz",
     "BraTS2021_00001"),
    # role words around a shared id
    ("/x/patient12_gt.nrrd", "/x/patient12_pred.nrrd", None, "patient12"),
    ("/x/liver12_manual_label.seg.nrrd", "/x/liver12_model.seg.nrrd", None, "liver12"),
    # nothing in the names: the ground truth's folder
    ("/data/demo/gt.nii.gz", "/data/demo/pred.nii.gz", "/data/demo/image.nii.gz", "demo"),
    ("/kits/case_00000/segmentation.nii.gz", "/preds/label.nii.gz", "/kits/case_00000/imaging.nii.gz",
     "case_00000"),
    ("/r/sub-01/ground_truth.nii.gz", "/r/sub-01/prediction.nii.gz", None, "sub-01"),
    # DICOM series selector: the folder names the case
    ("/dcm/CT_042::1.2.3", "/seg/CT_042.nii.gz", None, "CT_042"),
])
def test_report_case_name(gt, pred, image, name):
    assert report_case_name(gt, pred, image) == name


@pytest.mark.parametrize(("stem", "case"), [("case_0001_0000", "case_0001"), ("case_0001", "case_0001"),
                                            ("BraTS-GLI-00000-000-t2f", "BraTS-GLI-00000-000"),
                                            ("lung_042_label", "lung_042"), ("label", "label")])
def test_dataset_id(stem, case):
    assert dataset_id(stem) == case


def test_batch_reports_are_titled_with_the_case_name(tmp_path):
    from app.cli import main
    from tests.app.report.casefiles import pdf_text, synthetic_masks, write_volume

    for folder in ("gt", "pred"):
        (tmp_path / folder).mkdir()
    gt, pred = synthetic_masks(3, shape=(3, 24, 24))
    write_volume(gt, tmp_path / "gt" / "BraTS-GLI-00001-000-seg.nii.gz")
    write_volume(pred, tmp_path / "pred" / "BraTS-GLI-00001-000-seg.nii.gz")
    assert main(["batch", "--gt-dir", str(tmp_path / "gt"), "--pred-dir", str(tmp_path / "pred"),
                 "--out", str(tmp_path / "out"), "--reports"]) == 0
    report = next((tmp_path / "out" / "reports").glob("*.pdf"))
    lines = [line.strip() for line in pdf_text(report).splitlines() if line.strip()]
    assert lines[:2] == ["Segmentation quality report", "BraTS-GLI-00001-000"]
