"""The report's verdict with stated criteria: a missed lesion above the size limit fails it, whatever the Dice."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.cli import main
from app.report.verdict import CriterionCheck, Verdict
from tests.app.io.conftest import ANISOTROPIC_SPACING, write_volume
from tests.app.report.casefiles import pdf_text

VOXEL_ML = math.prod(ANISOTROPIC_SPACING) / 1000   # 0.001575 mL


@pytest.fixture
def missed_lesion(tmp_path):
    """One large lesion found exactly and one small lesion (96 voxels, 0.151 mL) missed: Dice 0.985."""
    gt = np.zeros((12, 40, 40), np.uint8)
    gt[1:9, 2:22, 2:22] = 1   # 3200 voxels
    pred = gt.copy()
    gt[9:11, 30:34, 28:40] = 1  # 96 voxels, missed
    return (["--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)),
             "--pred", str(write_volume(tmp_path / "pred.nii.gz", pred))], tmp_path)


def report(argv, tmp_path, capsys, *options):
    out, data = tmp_path / "report.pdf", tmp_path / "report.json"
    code = main(["report", *argv, "--out", str(out), "--json", str(data), *options])
    assert code == 0, capsys.readouterr().err
    return json.loads(data.read_text())["report"], pdf_text(out)


def test_a_missed_lesion_fails_the_verdict_despite_a_high_dice(missed_lesion, capsys):
    argv, tmp_path = missed_lesion
    document, text = report(argv, tmp_path, capsys, "--verdict-hd95", "1000")
    holds = {c["statement"]: c["holds"] for c in document["criteria"]}
    assert holds == {"mean foreground Dice \u2265 0.80": True, "HD95 \u2264 1000 mm for every class": True,
                     "|volume difference| \u2264 20 % for every class": True, "no missed object \u2265 0.1 mL": False}
    assert document["passes"] is False
    assert document["verdict"] == "Fails 1 of 4 criteria: no missed object \u2265 0.1 mL."
    missed = next(c for c in document["criteria"] if c["holds"] is False)
    assert missed["finding"] == f"label 1 {96 * VOXEL_ML:.3f} mL at slice z 9"
    flat = " ".join(text.split())
    assert "QA verdict: Fails 1 of 4 criteria: no missed object \u2265 0.1 mL." in flat
    assert "FAIL: no missed object \u2265 0.1 mL" in flat and "pass: mean foreground Dice \u2265 0.80" in flat
    # The object table lists the missed lesion with its key slice.
    assert "Objects: detected, missed and false" in flat
    assert f"label 1 missed {96 * VOXEL_ML:.3f} mL 9" in flat
    # ... and shows it on that slice.
    assert "largest missed and false objects on their key slices" in flat
    assert "missed label 1 (96 voxels) axial slice 9" in flat


def test_criteria_are_set_by_options(missed_lesion, capsys):
    argv, tmp_path = missed_lesion
    document, _ = report(argv, tmp_path, capsys, "--verdict-hd95", "1000", "--verdict-missed-ml", "0.2")
    assert document["passes"] is True and document["verdict"] == "Meets all 4 criteria."
    document, _ = report(argv, tmp_path, capsys, "--verdict-hd95", "1000", "--verdict-missed-ml", "0.2",
                         "--verdict-dice", "0.99", "--verdict-volume", "2")
    assert [c["holds"] for c in document["criteria"]] == [False, True, False, True]
    assert document["verdict"].startswith("Fails 2 of 4 criteria: mean foreground Dice \u2265 0.99; "
                                          "|volume difference| \u2264 2 % for every class")


def test_unchecked_criteria_are_stated_not_passed(missed_lesion, capsys):
    argv, tmp_path = missed_lesion
    document, _ = report(argv, tmp_path, capsys, "--no-distances", "--verdict-missed-ml", "0.2")
    assert [c["holds"] for c in document["criteria"]] == [True, None, True, True]
    assert document["passes"] is False
    assert document["verdict"] == ("Meets the 3 criteria checked; not checked: HD95 \u2264 10 mm for every class.")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--verdict-dice", "1.2", "--verdict-dice must be a Dice value between 0 and 1"),
    ("--verdict-hd95", "-1", "--verdict-hd95 must be a number >= 0"),
    ("--verdict-missed-ml", "nan", "--verdict-missed-ml must be a number >= 0"),
])
def test_bad_criteria_exit_2(missed_lesion, capsys, option, value, message):
    argv, tmp_path = missed_lesion
    assert main(["report", *argv, "--out", str(tmp_path / "r.pdf"), option, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()


def test_no_verdict_when_the_mean_dice_is_undefined():
    verdict = Verdict((CriterionCheck("mean foreground Dice \u2265 0.80", None, "no foreground class has a defined "
                                                                               "Dice"),
                       CriterionCheck("no missed object \u2265 0.1 mL", True, "no missed object")))
    assert verdict.sentence == "No verdict: no foreground class has a defined Dice."
    assert verdict.passes is False


def test_batch_reports_check_the_criteria(missed_lesion, capsys):
    _, tmp_path = missed_lesion
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    (tmp_path / "gt.nii.gz").rename(gt_dir / "case.nii.gz")
    (tmp_path / "pred.nii.gz").rename(pred_dir / "case.nii.gz")
    out = tmp_path / "out"
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), "--reports",
                 "--verdict-hd95", "1000"]) == 0
    flat = " ".join(pdf_text(out / "reports" / "case.pdf").split())
    assert "QA verdict: Fails 1 of 4 criteria: no missed object \u2265 0.1 mL." in flat
    # Reports count objects for their verdict; metrics.csv gets object columns only with --objects.
    assert "objects_fn" not in (out / "metrics.csv").read_text().splitlines()[0]
