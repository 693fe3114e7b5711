"""``dicelens batch --objects``: object columns in metrics.csv, totals in summary.json, and --resume."""

from __future__ import annotations

import csv
import io
import json
import re

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


def test_summary_pools_precision_recall_and_pq_and_agrees_with_metrics_csv(dataset, capsys):
    argv, out = dataset
    assert main(["batch", *argv, "--objects"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    objects = {c["index"]: c["objects"] for c in summary["classes"] if "objects" in c}
    # Class 1: flawed finds A (IoU 1), misses B, has one false; perfect finds both (IoU 1 each).
    assert (objects[1]["precision_pooled"], objects[1]["recall_pooled"]) == (pytest.approx(3 / 4),) * 2
    assert objects[1]["pq_pooled"] == pytest.approx(3 / (3 + 0.5 + 0.5))
    # Class 2: C matched at IoU 18/30 in flawed (24 voxels each, 18 shared), 1 in perfect.
    assert objects[2]["pq_pooled"] == pytest.approx((0.6 + 1.0) / 2)
    assert (objects[1]["pq"]["worst"], objects[1]["pq"]["worst_case"]) == (pytest.approx(0.5), "flawed")
    assert summary["objects_definitions"] == ["Objects (lesion mode: connected components of each class, "
                                              "26-connectivity; matched one-to-one at IoU ≥ 0.1)"]
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    for index, totals in objects.items():
        mine = [r for r in rows if r["index"] == str(index)]
        assert [sum(int(r[f"objects_{key}"]) for r in mine) for key in ("tp", "fp", "fn")] == \
            [totals["tp"], totals["fp"], totals["fn"]]
    missed = {r["case"]: 0 for r in rows}
    for r in rows:
        missed[r["case"]] += int(r["objects_fn"] or 0)
    assert missed == {row["case"]: row["objects_missed"] for row in summary["cases"]}


def test_summary_pdf_has_the_object_figures(dataset, capsys):
    from tests.app.report.casefiles import pdf_text

    argv, out = dataset
    assert main(["batch", *argv, "--objects"]) == 0
    text = pdf_text(out / "summary.pdf", layout=True)
    assert "Objects (lesions / instances) over the cases" in text
    assert "matched one-to-one at IoU ≥ 0.1" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "1 label 1 2 3 1 1 0.750 0.750 0.750 0.750 1" in lines   # #, class, cases, TP, FP, FN, P, R, F1, PQ
    assert re.search(r"label 1 +3 TP · 1 FN · 1 FP\n", text)   # the bar's figures
    assert "The case with missed objects" in text
    assert "flawed 1 1 " in "\n".join(lines) + " "
    assert "1 of 2 cases have at least one missed object (all classes)." in lines
    assert main(["batch", *argv, "--out", str(out.parent / "plain")]) == 0
    assert "Objects (lesions" not in pdf_text(out.parent / "plain" / "summary.pdf")
