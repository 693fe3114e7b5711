"""Both masks all background (a healthy scan) is a valid case: scored, headline undefined and said so.

It used to stop every command with ``ValueError: no class left to average``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.cli import main
from app.scoring import HEADLINE_UNDEFINED
from tests.app.report.casefiles import pdf_text, synthetic_masks, write_volume

SHAPE = (4, 16, 18)


@pytest.fixture
def healthy(tmp_path):
    """``gt.nii.gz`` and ``pred.nii.gz``, both all zeros, and a label table naming two classes."""
    zeros = np.zeros(SHAPE, np.uint8)
    write_volume(zeros, tmp_path / "gt.nii.gz")
    write_volume(zeros, tmp_path / "pred.nii.gz")
    (tmp_path / "labels.txt").write_text("0 background\n1 liver\n2 spleen\n")
    return tmp_path


def _score(folder, capsys, *extra):
    code = main(["score", "--gt", str(folder / "gt.nii.gz"), "--pred", str(folder / "pred.nii.gz"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("labels", [False, True], ids=["no_label_table", "label_table"])
def test_score_of_two_empty_masks_has_a_null_headline_and_says_why(healthy, capsys, labels):
    extra = ["--labels", str(healthy / "labels.txt")] if labels else []
    code, out, err = _score(healthy, capsys, *extra, "--json", "-")
    assert code == 0, err
    document = json.loads(out)
    assert document["num_classes"] == (3 if labels else 1)
    assert document["dice_mean_foreground"] is None
    assert document["dice_micro_foreground"] is None
    assert document["dice_loss"]["hard"] is None  # not the smoothed 0 ("perfect") of absent classes
    assert document["headline_undefined"] == HEADLINE_UNDEFINED
    assert HEADLINE_UNDEFINED in document["messages"]
    assert document["classes"][0]["dice"] == 1.0
    assert all(entry["dice"] is None for entry in document["classes"][1:])
    assert "headline undefined" in err
    code, out, err = _score(healthy, capsys, *extra)
    assert code == 0, err
    assert "Mean foreground Dice: — (no foreground class in either mask: headline undefined" in out


def test_a_predicted_class_keeps_the_headline_defined(healthy, capsys):
    pred = np.zeros(SHAPE, np.uint8)
    pred[1, 2:5, 3:6] = 2
    write_volume(pred, healthy / "pred.nii.gz")
    code, out, err = _score(healthy, capsys, "--json", "-")
    assert code == 0, err
    document = json.loads(out)
    assert document["dice_mean_foreground"] == 0.0  # false positives are penalised
    assert document["dice_loss"]["hard"] is not None
    assert "headline_undefined" not in document


def test_report_of_two_empty_masks(healthy, capsys):
    out = healthy / "report.pdf"
    code = main(["report", "--gt", str(healthy / "gt.nii.gz"), "--pred", str(healthy / "pred.nii.gz"),
                 "--out", str(out), "--json", str(healthy / "report.json")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((healthy / "report.json").read_text())
    assert report["score"]["dice_mean_foreground"] is None
    assert report["score"]["headline_undefined"] == HEADLINE_UNDEFINED
    assert report["report"]["meets_threshold"] is False
    assert "No verdict" in pdf_text(out)


def test_batch_skips_undefined_headlines_in_its_averages(tmp_path, capsys):
    gt_dir, pred_dir, out = tmp_path / "gt", tmp_path / "pred", tmp_path / "out"
    gt_dir.mkdir()
    pred_dir.mkdir()
    zeros = np.zeros(SHAPE, np.uint8)
    write_volume(zeros, gt_dir / "healthy.nii.gz")
    write_volume(zeros, pred_dir / "healthy.nii.gz")
    gt, pred = synthetic_masks(3, shape=SHAPE, seed=1)
    write_volume(gt, gt_dir / "sick.nii.gz")
    write_volume(pred, pred_dir / "sick.nii.gz")
    code = main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), "--reports"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    by_case = {row["case"]: row for row in summary["cases"]}
    assert by_case["healthy"]["dice_mean_foreground"] is None
    sick = by_case["sick"]["dice_mean_foreground"]
    assert sick is not None
    assert summary["dice_mean_foreground"]["mean"] == pytest.approx(sick)  # the healthy case is left out
    assert (out / "reports" / "healthy.pdf").is_file()
    assert "healthy" in (out / "metrics.csv").read_text()


@pytest.mark.parametrize("num_classes", [1, 3])
def test_window_engine_headline_of_two_empty_masks_is_undefined(num_classes):
    """The window's numbers agree with `score`: mean and hard loss undefined (the loss was 0 or raised)."""
    from app.qt.engine_messages import EngineResult, LoadRequest
    from app.qt.engine_worker import WorkerState, process

    zeros = np.zeros(SHAPE, np.uint8)
    request = LoadRequest(generation=1, gt=zeros, pred=zeros, num_classes=num_classes, voxel_volume_ml=0.001,
                          device="cpu")
    result, _ = process(WorkerState(), request)
    assert isinstance(result, EngineResult)
    assert math.isnan(result.dice_mean_foreground) and math.isnan(result.dice_loss_hard)
    assert result.metrics.dice[0] == 1.0
