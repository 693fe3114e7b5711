"""``dicelens batch --objects``: object columns in metrics.csv, totals in summary.json, and --resume."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.cli import main
from tests.app.io.conftest import write_volume
from tests.app.test_objects_cli import instance_images, lesion_masks


@pytest.fixture
def dataset(tmp_path):
    gt, pred = lesion_masks()
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for name, (g, p) in {"perfect": (gt, gt), "flawed": (gt, pred)}.items():
        write_volume(gt_dir / f"{name}.nii.gz", g)
        write_volume(pred_dir / f"{name}.nii.gz", p)
    return ["--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(tmp_path / "out")], tmp_path / "out"


def test_metrics_csv_and_summary_hold_the_object_counts(dataset, capsys):
    argv, out = dataset
    assert main(["batch", *argv, "--objects"]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    cells = {(r["case"], r["index"]): (r["objects_tp"], r["objects_fp"], r["objects_fn"], r["objects_f1"])
             for r in rows}
    assert cells[("flawed", "1")] == ("1", "1", "1", "0.5")
    assert cells[("perfect", "1")] == ("2", "0", "0", "1.0")
    assert cells[("flawed", "0")] == ("", "", "", "")
    summary = json.loads((out / "summary.json").read_text())
    first = next(c for c in summary["classes"] if c["index"] == 1)
    assert {key: first["objects"][key] for key in ("cases", "tp", "fp", "fn", "cases_with_missed")} == \
        {"cases": 2, "tp": 3, "fp": 1, "fn": 1, "cases_with_missed": 1}
    assert first["objects"]["f1_pooled"] == pytest.approx(6 / 8)
    assert (first["objects"]["f1"]["worst"], first["objects"]["f1"]["worst_case"]) == (0.5, "flawed")
    per_case = {row["case"]: (row["objects_missed"], row["objects_false"]) for row in summary["cases"]}
    assert per_case == {"flawed": (1, 1), "perfect": (0, 0)}
    assert "objects" in summary["conventions"]


def test_without_objects_no_object_columns(dataset, capsys):
    argv, out = dataset
    assert main(["batch", *argv]) == 0
    assert "objects_tp" not in (out / "metrics.csv").read_text().splitlines()[0]
    assert "objects" not in json.loads((out / "summary.json").read_text())["classes"][1]


def test_resume_rescores_results_without_objects_or_with_other_options(dataset, capsys):
    argv, _ = dataset
    assert main(["batch", *argv]) == 0
    assert main(["batch", *argv, "--resume", "--objects"]) == 0
    assert "0 already scored (--resume), 2 to score" in capsys.readouterr().err
    assert main(["batch", *argv, "--resume", "--objects"]) == 0
    assert "2 already scored (--resume), 0 to score" in capsys.readouterr().err
    assert main(["batch", *argv, "--resume", "--iou", "0.5"]) == 0
    assert "0 already scored (--resume), 2 to score" in capsys.readouterr().err
    assert main(["batch", *argv, "--resume", "--iou", "0.5", "--connectivity", "26"]) == 0
    assert "2 already scored (--resume), 0 to score" in capsys.readouterr().err


def test_batch_instances_with_reports(tmp_path, capsys):
    gt, pred = instance_images()
    gt_dir, pred_dir, out = tmp_path / "gt", tmp_path / "pred", tmp_path / "out"
    gt_dir.mkdir()
    pred_dir.mkdir()
    write_volume(gt_dir / "cells.png", gt)
    write_volume(pred_dir / "cells.png", pred)
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), "--instances",
                 "--reports"]) == 0, capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    assert [(r["index"], r["objects_tp"], r["objects_fp"], r["objects_fn"]) for r in rows] == \
        [("0", "", "", ""), ("1", "3", "1", "1")]
    assert (out / "reports" / "cells.pdf").is_file()
