"""``dicelens report`` on DICOM inputs prints Patient ID / study date / series description; --deidentify
leaves them out, and reports made without asking (batch) never print them."""

import json

import numpy as np

from app.cli import main
from app.io import load_case
from app.report.assemble import make_case_report
from app.scoring import score_case
from tests.app.io.dicom_builders import write_ct_series, write_seg
from tests.app.report.casefiles import pdf_text

SHAPE = (4, 20, 24)


def _seg_case(tmp_path):
    rng = np.random.default_rng(3)
    datasets = write_ct_series(tmp_path / "ct", rng.integers(-500, 500, SHAPE))
    gt = np.zeros(SHAPE, bool)
    gt[:, 5:15, 6:18] = True
    write_seg(tmp_path / "gt_seg.dcm", datasets, gt[np.newaxis], ["liver"])
    write_seg(tmp_path / "pred_seg.dcm", datasets, np.roll(gt, 2, axis=2)[np.newaxis], ["liver"])
    return ["--gt", str(tmp_path / "gt_seg.dcm"), "--pred", str(tmp_path / "pred_seg.dcm"),
            "--image", str(tmp_path / "ct"), "--no-distances"]


def test_report_prints_dicom_header_fields_unless_deidentified(tmp_path):
    inputs = _seg_case(tmp_path)
    assert main(["report", *inputs, "--out", str(tmp_path / "r.pdf"), "--json", str(tmp_path / "r.json")]) == 0
    text = pdf_text(tmp_path / "r.pdf")
    assert "DL-0042" in text and "2026-11-15" in text and "Thorax 2.5mm" in text
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["report"]["dicom"] == {"Patient ID": "DL-0042", "Study date": "2026-11-15",
                                           "Series": "Thorax 2.5mm"}
    assert main(["report", *inputs, "--deidentify", "--out", str(tmp_path / "d.pdf"),
                 "--json", str(tmp_path / "d.json")]) == 0
    text = pdf_text(tmp_path / "d.pdf")
    assert "DL-0042" not in text and "Thorax" not in text and "Patient ID" not in text
    assert "dicom" not in json.loads((tmp_path / "d.json").read_text())["report"]


def test_reports_built_without_asking_hold_no_identifying_fields(tmp_path):
    _seg_case(tmp_path)
    case = load_case(tmp_path / "gt_seg.dcm", tmp_path / "pred_seg.dcm", image=tmp_path / "ct")
    report = make_case_report(case, score_case(case), case_name="c")  # as batch/worker.py calls it
    assert report.header.dicom_fields == ()
