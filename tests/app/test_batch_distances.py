"""``dicelens batch --distances``: metrics.csv columns and summary.json statistics equal score's; resume rules."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from app.batch.summary import DISTANCE_COLUMNS, METRICS_COLUMNS
from app.cli import main
from tests.app.report.casefiles import pdf_text, synthetic_masks, write_volume

CASES = ("case_a", "case_b")


def _read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch_distances")
    gt_dir, pred_dir = root / "gt", root / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for seed, name in enumerate(CASES):
        gt, pred = synthetic_masks(4, shape=(5, 28, 28), seed=seed)
        write_volume(gt, gt_dir / f"{name}.nii.gz")
        write_volume(pred, pred_dir / f"{name}.nii.gz")
    scores = {}
    for name in CASES:
        target = root / f"{name}.json"
        assert main(["score", "--gt", str(gt_dir / f"{name}.nii.gz"), "--pred", str(pred_dir / f"{name}.nii.gz"),
                     "--nsd-tolerance", "1", "--nsd-tolerance", "2", "--json", str(target)]) == 0
        scores[name] = json.loads(target.read_text())
    return root, gt_dir, pred_dir, scores


def _batch(root, gt_dir, pred_dir, out_name, *extra):
    out = root / out_name
    code = main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), *extra])
    return code, out


def test_metrics_csv_appends_distance_columns_equal_to_score(dataset):
    root, gt_dir, pred_dir, scores = dataset
    code, out = _batch(root, gt_dir, pred_dir, "out", "--distances", "--nsd-tolerance", "1", "--nsd-tolerance", "2",
                       "--reports")
    assert code == 0
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == [*METRICS_COLUMNS, *DISTANCE_COLUMNS, "nsd_1.0", "nsd_2.0"]   # issue-7 columns first, in order
    rows = _read_csv(out / "metrics.csv")
    for row in rows:
        entry = scores[row["case"]]["classes"][int(row["index"])]
        for key in DISTANCE_COLUMNS:
            assert row[key] == ("" if entry[key] is None else str(entry[key]))
        assert row["nsd_2.0"] == ("" if entry["nsd"]["2.0"] is None else str(entry["nsd"]["2.0"]))
    assert any(row["hausdorff95_mm"] for row in rows)
    assert all(row["assd_mm"] == "" for row in rows if row["index"] == "0")   # background: not computed
    report_text = " ".join(pdf_text(out / "reports" / "case_a.pdf").split())
    assert "HD95" in report_text and "ASSD" in report_text


def test_summary_json_has_distance_statistics_over_cases(dataset):
    root, _, _, scores = dataset
    summary = json.loads((root / "out" / "summary.json").read_text())
    for entry in summary["classes"][1:]:
        values = [scores[c]["classes"][entry["index"]]["hausdorff95_mm"] for c in CASES]
        values = [v for v in values if v is not None]
        assert entry["cases_distances_defined"] == len(values)
        if values:
            assert entry["hausdorff95_mm"]["mean"] == pytest.approx(np.mean(values))
            assert entry["hausdorff95_mm"]["worst"] == pytest.approx(max(values))
            nsd = [scores[c]["classes"][entry["index"]]["nsd"]["1.0"] for c in CASES]
            assert entry["nsd"]["1.0"]["worst"] == pytest.approx(min(v for v in nsd if v is not None))
    for row in summary["cases"]:
        means = scores[row["case"]]["distances_mean_foreground"]
        assert row["assd_mean_foreground_mm"] == pytest.approx(means["assd_mm"])
    overall = [scores[c]["distances_mean_foreground"]["hausdorff95_mm"] for c in CASES]
    assert summary["distances_mean_foreground"]["hausdorff95"]["mean"] == pytest.approx(np.mean(overall))
    assert "per_class_distances" in summary["conventions"]
    pdf = " ".join(pdf_text(root / "out" / "summary.pdf").split())
    assert "Per-class surface distances over the cases" in pdf
    assert f"HD95 {summary['distances_mean_foreground']['hausdorff95']['mean']:.2f} mm" in pdf


def test_without_distances_outputs_are_unchanged_and_resume_rescores_for_distances(dataset):
    root, gt_dir, pred_dir, _ = dataset
    code, out = _batch(root, gt_dir, pred_dir, "plain")
    assert code == 0
    assert (out / "metrics.csv").read_text().splitlines()[0].split(",") == list(METRICS_COLUMNS)
    summary = json.loads((out / "summary.json").read_text())
    assert "distances_mean_foreground" not in summary and "hausdorff95_mm" not in summary["classes"][1]
    stored = (out / "cases" / "case_a.json").stat().st_mtime_ns
    code, out = _batch(root, gt_dir, pred_dir, "plain", "--resume", "--distances")   # stored results lack them
    assert code == 0 and (out / "cases" / "case_a.json").stat().st_mtime_ns != stored
    assert "hausdorff95_mm" in _read_csv(out / "metrics.csv")[0]


def test_bad_tolerance_is_refused_before_scoring(dataset, capsys):
    root, gt_dir, pred_dir, _ = dataset
    code, out = _batch(root, gt_dir, pred_dir, "refused", "--nsd-tolerance", "-2")
    assert code == 2 and "--nsd-tolerance must be a distance in mm greater than 0" in capsys.readouterr().err
    assert not out.exists()
