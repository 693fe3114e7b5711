"""``dicelens batch``: pairing, metrics.csv / summary.json against score, errors, resume, parallel workers."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from app.batch.pairing import pair_cases
from app.batch.progress import ProgressBar, format_duration
from app.cli import main
from app.errors import InputError
from tests.app.report.casefiles import pdf_pages, pdf_text, synthetic_masks, write_volume

CASES = ("case_a", "case_b", "case_c")


def _dataset(root, names=CASES, broken=()):
    gt_dir, pred_dir, image_dir = root / "gt", root / "pred", root / "images"
    for folder in (gt_dir, pred_dir, image_dir):
        folder.mkdir()
    for seed, name in enumerate(names):
        gt, pred = synthetic_masks(3 + seed, shape=(6, 32, 32), seed=seed)
        write_volume(gt, gt_dir / f"{name}.nii.gz")
        write_volume(pred, pred_dir / f"{name}.nii.gz")
        write_volume((gt * 50).astype(np.int16), image_dir / f"{name}_0000.nii.gz")
    for name in broken:
        (pred_dir / f"{name}.nii.gz").write_bytes(b"not an image at all")
    return gt_dir, pred_dir, image_dir


def _read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A 3-case dataset scored once with --reports; returns (root, out, exit code, score JSON by case)."""
    root = tmp_path_factory.mktemp("batch")
    gt_dir, pred_dir, image_dir = _dataset(root)
    labels = root / "labels.txt"
    labels.write_text("0 background\n1 liver\n2 right kidney\n")
    out = root / "out"
    code = main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--image-dir", str(image_dir),
                 "--labels", str(labels), "--out", str(out), "--reports"])
    scores = {}
    for name in CASES:
        target = root / f"{name}.json"
        assert main(["score", "--gt", str(gt_dir / f"{name}.nii.gz"), "--pred", str(pred_dir / f"{name}.nii.gz"),
                     "--labels", str(labels), "--json", str(target)]) == 0
        scores[name] = json.loads(target.read_text())
    return root, out, code, scores


def test_pairing_by_name_with_nnunet_images_and_unmatched(tmp_path):
    gt_dir, pred_dir, image_dir = (tmp_path / d for d in ("gt", "pred", "img"))
    for folder in (gt_dir, pred_dir, image_dir):
        folder.mkdir()
    for name in ("a.nii.gz", "b.nii.gz", "only_gt.nii.gz", "c.nii.gz", "notes.txt"):
        (gt_dir / name).write_bytes(b"x")
    for name in ("a.nii.gz", "b.nii.gz", "only_pred.nrrd", "c.nrrd", ".hidden.nii.gz"):
        (pred_dir / name).write_bytes(b"x")
    for name in ("a_0000.nii.gz", "a_0001.nii.gz", "b.mha"):
        (image_dir / name).write_bytes(b"x")
    pairing = pair_cases(gt_dir, pred_dir, image_dir)
    assert [(c.name, c.image and c.image.split("/")[-1]) for c in pairing.cases] == [
        ("a", "a_0000.nii.gz"), ("b", "b.mha"), ("c", None)]
    assert pairing.cases[2].pred.endswith("c.nrrd")  # same case name, other format
    assert [p.split("/")[-1] for p in pairing.gt_only] == ["only_gt.nii.gz"]
    assert [p.split("/")[-1] for p in pairing.pred_only] == ["only_pred.nrrd"]
    assert pairing.cases_without_image == ["c"]
    assert [p.split("/")[-1] for p in pairing.ignored] == ["notes.txt"]


def test_pairing_without_any_match_is_an_input_error(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "x.nii.gz").write_bytes(b"x")
    with pytest.raises(InputError, match="no file in --gt-dir"):
        pair_cases(tmp_path / "gt", tmp_path / "pred")
    with pytest.raises(InputError, match="not a folder"):
        pair_cases(tmp_path / "missing", tmp_path / "pred")


def test_metrics_csv_equals_score_for_every_case_and_class(scored):
    _, out, code, scores = scored
    assert code == 0
    rows = _read_csv(out / "metrics.csv")
    assert list(rows[0]) == ["case", "index", "name", "dice", "iou", "precision", "recall", "tp", "fp", "fn",
                             "gt_volume_ml", "pred_volume_ml"]
    assert len(rows) == sum(len(s["classes"]) for s in scores.values())
    for row in rows:
        entry = scores[row["case"]]["classes"][int(row["index"])]
        assert row["name"] == entry["name"]
        for key in ("dice", "iou", "precision", "recall", "gt_volume_ml", "pred_volume_ml"):
            if entry[key] is None:
                assert row[key] == ""
            else:
                assert float(row[key]) == pytest.approx(entry[key], rel=1e-12)
        assert [int(row[k]) for k in ("tp", "fp", "fn")] == [entry["tp"], entry["fp"], entry["fn"]]
    assert any(row["dice"] == "" for row in rows) or all(e["dice"] is not None for s in scores.values()
                                                          for e in s["classes"])


def test_summary_json_statistics_over_cases(scored):
    _, out, _, scores = scored
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cases_scored"] == 3 and summary["cases_failed"] == 0
    by_index = {c["index"]: c for c in summary["classes"]}
    for index in range(max(len(s["classes"]) for s in scores.values())):
        values = {name: s["classes"][index]["dice"] for name, s in scores.items()
                  if index < len(s["classes"]) and s["classes"][index]["dice"] is not None}
        stats = by_index[index]["dice"]
        assert by_index[index]["cases_defined"] == len(values)
        if not values:
            assert stats["mean"] is None
            continue
        array = np.array(list(values.values()))
        assert stats["mean"] == pytest.approx(array.mean())
        assert stats["median"] == pytest.approx(np.median(array))
        assert stats["std"] == pytest.approx(array.std())
        assert stats["min"] == pytest.approx(array.min())
        assert values[stats["worst_case"]] == pytest.approx(array.min())
    per_case = {c["case"]: c["dice_mean_foreground"] for c in summary["cases"]}
    assert per_case == {name: s["dice_mean_foreground"] for name, s in scores.items()}


def test_summary_pdf_and_case_reports(scored):
    _, out, _, scores = scored
    text = pdf_text(out / "summary.pdf")
    assert "Dataset summary" in text and "Dice per class over the cases" in text
    assert "1 liver" in text and "2 right kidney" in text and "3 label 3" in text
    for name, score in scores.items():
        assert name in text
        assert (out / "reports" / f"{name}.pdf").is_file()
        assert f"{score['dice_mean_foreground']:.3f}" in pdf_text(out / "reports" / f"{name}.pdf")
    assert pdf_pages(out / "summary.pdf") >= 1
    assert sorted(p.name for p in (out / "cases").iterdir()) == [f"{n}.json" for n in CASES]


def test_bad_case_goes_to_errors_csv_and_exit_3_then_resume_fixes_it(tmp_path, capsys):
    gt_dir, pred_dir, _ = _dataset(tmp_path, broken=("case_b",))
    out = tmp_path / "out"
    argv = ["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out)]
    assert main(argv) == 3
    errors = _read_csv(out / "errors.csv")
    assert [e["case"] for e in errors] == ["case_b"] and "case_b.nii.gz" in errors[0]["message"]
    assert {r["case"] for r in _read_csv(out / "metrics.csv")} == {"case_a", "case_c"}
    assert not (out / "cases" / "case_b.json").exists()
    assert "[" in capsys.readouterr().err  # the progress bar

    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "cases").iterdir()}
    gt, _ = synthetic_masks(4, shape=(6, 32, 32), seed=1)
    write_volume(gt, pred_dir / "case_b.nii.gz")  # fix the broken case: a perfect prediction
    assert main([*argv, "--resume"]) == 0
    err = capsys.readouterr().err
    assert "2 already scored (--resume), 1 to score" in err
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cases").iterdir() if p.name in stamps} == stamps
    assert not (out / "errors.csv").exists()
    rows = _read_csv(out / "metrics.csv")
    assert {r["case"] for r in rows} == set(CASES)
    assert all(r["dice"] == "1.0" for r in rows if r["case"] == "case_b")
    assert not list(out.rglob("*.tmp*")), "only complete files may be left"


def test_two_jobs_give_the_same_results_as_one(scored, tmp_path):
    root, out_one_job, _, _ = scored
    out = tmp_path / "out2"
    assert main(["batch", "--gt-dir", str(root / "gt"), "--pred-dir", str(root / "pred"), "--labels",
                 str(root / "labels.txt"), "--out", str(out), "--jobs", "2"]) == 0
    assert (out / "metrics.csv").read_text() == (out_one_job / "metrics.csv").read_text()
    assert sorted(p.name for p in (out / "cases").iterdir()) == [f"{n}.json" for n in CASES]


def test_bad_arguments_exit_2(tmp_path, capsys):
    gt_dir, pred_dir, _ = _dataset(tmp_path, names=("x",))
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(tmp_path / "o"),
                 "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out",
                 str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_progress_bar_reports_rate_and_time_left():
    stream = io.StringIO()
    now = [0.0]
    bar = ProgressBar(4, stream, clock=lambda: now[0])
    now[0] = 2.0
    bar.advance()
    now[0] = 10.0
    bar.advance(failed=True)
    assert bar.line() == "[##############..............] 2/4 cases, 1 failed, 0.20 cases/s, 0:00:10 left"
    assert stream.getvalue().splitlines()[0].startswith("[#######.....................] 1/4 cases, 0.50 cases/s")
    assert format_duration(3725) == "1:02:05"
