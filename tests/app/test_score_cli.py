"""``dicelens score`` end to end: values against numpy on written files, outputs, and bad inputs."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from tests.app.io.conftest import ANISOTROPIC_SPACING, blobs, write_volume

ROOT = Path(__file__).resolve().parents[2]
VOXEL_ML = math.prod(ANISOTROPIC_SPACING) / 1000


def _reject_nan(token):
    raise AssertionError(f"JSON contains {token}")


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(argv, capsys):
    code, out, err = _run([*argv, "--json", "-"], capsys)
    assert code == 0, err
    return json.loads(out, parse_constant=_reject_nan)


def numpy_reference(gt, pred, num_classes, keep=None):
    """Independent per-class counts with np.logical_and / np.bincount."""
    keep = np.ones(gt.shape, bool) if keep is None else keep
    g, p = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    cm = np.bincount(g * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)
    classes = []
    for c in range(num_classes):
        tp = int(np.logical_and(g == c, p == c).sum())
        fp = int(np.logical_and(g != c, p == c).sum())
        fn = int(np.logical_and(g == c, p != c).sum())
        union = tp + fp + fn
        classes.append({"tp": tp, "fp": fp, "fn": fn, "dice": 2 * tp / (2 * tp + fp + fn) if union else None,
                        "iou": tp / union if union else None,
                        "gt_volume_ml": (tp + fn) * VOXEL_ML, "pred_volume_ml": (tp + fp) * VOXEL_ML})
    return cm, classes


@pytest.fixture
def case_files(tmp_path):
    rng = np.random.default_rng(7)
    gt = blobs(rng, (6, 24, 28), 5)
    pred = np.roll(gt, 2, axis=2)
    pred[gt == 4] = 0          # class 4: in the ground truth only (Dice 0)
    pred[0, :3, :3] = 6        # class 6: predicted only (Dice 0)
    # class 5 appears in neither mask; class 7 only in the label table: both undefined
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nii.gz", pred)
    (tmp_path / "labels.txt").write_text("0 background\n1 liver\n2 spleen\n4 kidney\n7 aorta\n")
    return tmp_path, gt, pred


def test_json_values_match_numpy_including_absent_classes(case_files, capsys):
    tmp_path, gt, pred = case_files
    document = _json(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz"),
                      "--labels", str(tmp_path / "labels.txt")], capsys)
    assert document["num_classes"] == 8
    cm, reference = numpy_reference(gt, pred, 8)
    assert document["confusion_matrix"] == cm.tolist()
    assert [c["index"] for c in document["classes"]] == list(range(8))
    assert [c["name"] for c in document["classes"]][:3] == ["background", "liver", "spleen"]
    assert document["classes"][3]["name"] == "label 3"
    for entry, expected in zip(document["classes"], reference, strict=True):
        for key in ("tp", "fp", "fn"):
            assert entry[key] == expected[key]
        for key in ("dice", "iou"):
            assert entry[key] == (None if expected[key] is None else pytest.approx(expected[key]))
        assert entry["gt_volume_ml"] == pytest.approx(expected["gt_volume_ml"])
        assert entry["volume_difference_ml"] == pytest.approx(expected["pred_volume_ml"] - expected["gt_volume_ml"])
    assert document["classes"][4]["dice"] == 0.0 and document["classes"][6]["dice"] == 0.0
    assert document["undefined_classes"] == [5, 7]
    foreground = [c["dice"] for c in reference[1:] if c["dice"] is not None]
    assert document["dice_mean_foreground"] == pytest.approx(np.mean(foreground))
    tp, fp, fn = (sum(c[k] for c in reference[1:]) for k in ("tp", "fp", "fn"))
    assert document["dice_micro_foreground"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    hard = np.mean([1 - (2 * c["tp"] + 1) / (2 * c["tp"] + c["fp"] + c["fn"] + 1) for c in reference[1:]])
    assert document["dice_loss"] == {"hard": pytest.approx(hard), "soft": None, "soft_from": None,
                                     "smooth": 1.0, "include_background": False}
    assert document["geometry"]["spacing"] == pytest.approx(list(ANISOTROPIC_SPACING))
    assert set(document["inputs"]) == {"gt", "pred", "labels"}
    assert len(document["inputs"]["gt"]["sha256"]) == 64
    assert document["device"].startswith("cpu") and "dicelens_version" in document
    assert "absent_from_both" in document["conventions"]


def test_json_field_names_are_the_documented_contract(case_files, capsys):
    tmp_path, _, _ = case_files
    document = _json(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz")], capsys)
    assert set(document) == {"dicelens_version", "num_classes", "classes", "confusion_matrix", "dice_mean_foreground",
                             "dice_micro_foreground", "dice_loss", "undefined_classes", "conventions", "geometry",
                             "inputs", "device", "messages"}
    required = {"index", "name", "dice", "iou", "precision", "recall", "tp", "fp", "fn", "gt_voxels", "pred_voxels",
                "gt_volume_ml", "pred_volume_ml", "volume_difference_ml"}
    assert all(required <= set(entry) for entry in document["classes"])
    assert set(document["geometry"]) == {"size", "spacing", "origin", "direction"}
    assert set(document["inputs"]["gt"]) >= {"path", "sha256"}
    assert set(document["dice_loss"]) >= {"hard", "soft", "smooth"}


def test_soft_dice_loss_and_ignore_index_match_numpy(case_files, capsys):
    tmp_path, gt, pred = case_files
    gt_ignored = gt.copy()
    gt_ignored[:, :, :4] = 255
    write_volume(tmp_path / "gt_ignore.nii.gz", gt_ignored)
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(7, *gt.shape)).astype(np.float32)
    np.save(tmp_path / "logits.npy", logits)
    document = _json(["score", "--gt", str(tmp_path / "gt_ignore.nii.gz"), "--pred",
                      str(tmp_path / "pred.nii.gz"), "--logits", str(tmp_path / "logits.npy"),
                      "--ignore-index", "255"], capsys)
    keep = gt_ignored != 255
    assert document["num_classes"] == 7 and document["ignore_index"] == 255
    assert document["ignored_voxels"] == int((~keep).sum())
    cm, _ = numpy_reference(gt_ignored, pred, 7, keep)
    assert document["confusion_matrix"] == cm.tolist()
    probs = np.exp(logits.astype(np.float64))
    probs /= probs.sum(axis=0, keepdims=True)
    one_hot = np.stack([(gt_ignored == c) for c in range(7)])
    p, y = probs[:, keep], one_hot[:, keep]
    soft = np.mean((1 - (2 * (p * y).sum(axis=1) + 1) / (p.sum(axis=1) + y.sum(axis=1) + 1))[1:])  # foreground
    assert document["dice_loss"]["soft"] == pytest.approx(soft, rel=1e-6)
    assert document["dice_loss"]["soft_from"] == "logits"


def test_table_output_is_aligned_with_headline_and_conventions(case_files, capsys):
    tmp_path, _, _ = case_files
    code, out, err = _run(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz"),
                           "--labels", str(tmp_path / "labels.txt")], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["class", "name", "Dice", "IoU", "GT", "ml", "pred", "ml", "FP", "FN"]
    rows = lines[2:10]
    assert len({len(row) for row in rows[:-1]}) <= 2  # right-aligned numbers end in one column
    assert rows[5].split()[1:3] == ["label", "5"] and "—" in rows[5]
    assert "Mean foreground Dice:" in out and "absent from both left out" in out
    assert "A class absent from both masks is undefined" in out


def test_csv_has_one_row_per_class_with_empty_cells_for_undefined(case_files, capsys):
    tmp_path, _, _ = case_files
    out_csv = tmp_path / "out" / "scores.csv"
    out_csv.parent.mkdir()
    code, out, _ = _run(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz"),
                         "--csv", str(out_csv)], capsys)
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [int(r["index"]) for r in rows] == list(range(7))
    assert rows[5]["dice"] == "" and rows[4]["dice"] == "0.0"
    assert list(rows[0])[:4] == ["index", "name", "dice", "iou"]
    assert [p.name for p in out_csv.parent.iterdir()] == ["scores.csv"]


def test_large_label_counts_atlas_and_microscopy(tmp_path, capsys):
    rng = np.random.default_rng(11)
    atlas = rng.integers(0, 117, (8, 20, 20)).astype(np.uint8)
    write_volume(tmp_path / "atlas.nii.gz", atlas)
    write_volume(tmp_path / "atlas_pred.nii.gz", np.where(rng.random(atlas.shape) < 0.9, atlas, 0).astype(np.uint8))
    assert _json(["score", "--gt", str(tmp_path / "atlas.nii.gz"), "--pred",
                  str(tmp_path / "atlas_pred.nii.gz")], capsys)["num_classes"] == 117
    cells = rng.integers(0, 600, (64, 64)).astype(np.uint16)
    write_volume(tmp_path / "cells.png", cells)
    write_volume(tmp_path / "cells_pred.tif", cells)
    document = _json(["score", "--gt", str(tmp_path / "cells.png"), "--pred", str(tmp_path / "cells_pred.tif")],
                     capsys)
    assert document["num_classes"] == int(cells.max()) + 1
    assert document["dice_mean_foreground"] == pytest.approx(1.0)


BAD_INPUTS = [
    ("missing prediction", lambda t: ["--pred", str(t / "nope.nii.gz")], "nope.nii.gz' does not exist"),
    ("truncated prediction", lambda t: ["--pred", str(_truncated(t))], "damaged"),
    ("random bytes", lambda t: ["--pred", str(_random_bytes(t))], "is not a readable NIfTI file"),
    ("grid mismatch", lambda t: ["--pred", str(_shifted(t))], "--resample"),
    ("image as mask", lambda t: ["--pred", str(_ct(t))], "looks like an intensity image"),
    ("probability map as mask", lambda t: ["--pred", str(_probability_map(t))], "probability map"),
    ("bad label table", lambda t: ["--labels", str(_bad_table(t))], "not a label line"),
    ("bad probs", lambda t: ["--probs", str(_bad_probs(t))], "expected (C, 6, 24, 28)"),
    ("negative ignore index", lambda t: ["--ignore-index", "-3"], "must be a label value >= 0"),
    ("unknown format", lambda t: ["--pred", str(_unknown(t))], "cannot tell the format"),
]


def _truncated(t):
    data = (t / "pred.nii.gz").read_bytes()
    (t / "cut.nii.gz").write_bytes(data[: len(data) // 2])
    return t / "cut.nii.gz"


def _random_bytes(t):
    (t / "noise.nii.gz").write_bytes(np.random.default_rng(1).bytes(2000))
    return t / "noise.nii.gz"


def _shifted(t):
    return write_volume(t / "shifted.nii.gz", np.zeros((6, 24, 28), np.uint8), origin=(0.0, 0.0, 0.0))


def _ct(t):
    return write_volume(t / "ct.nii.gz", np.full((6, 24, 28), -1000, np.int16))


def _probability_map(t):
    return write_volume(t / "prob.nii.gz", np.full((6, 24, 28), 0.7, np.float32))


def _bad_table(t):
    (t / "table.txt").write_text("liver is 1\n")
    return t / "table.txt"


def _bad_probs(t):
    np.save(t / "p.npy", np.full((8, 6, 24), 0.125, np.float32))
    return t / "p.npy"


def _unknown(t):
    (t / "mask.foo").write_bytes(b"x")
    return t / "mask.foo"


@pytest.mark.parametrize("name,extra,fragment", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_inputs_exit_2_with_one_clear_message_and_no_output(case_files, capsys, name, extra, fragment):
    tmp_path, _, _ = case_files
    argv = ["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz")]
    argv += extra(tmp_path)
    out_json = tmp_path / "result.json"
    code, out, err = _run([*argv, "--json", str(out_json), "--csv", str(tmp_path / "result.csv")], capsys)
    assert code == 2
    assert err.startswith("dicelens: error: ") and fragment in err
    assert "Traceback" not in err and out == ""
    assert not out_json.exists() and not (tmp_path / "result.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".result")]


def test_debug_shows_the_traceback(case_files, capsys):
    tmp_path, _, _ = case_files
    code, _, err = _run(["--debug", "score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred",
                         str(tmp_path / "nope.nii.gz")], capsys)
    assert code == 2 and "Traceback" in err and "does not exist" in err


def test_python_dash_m_app_score_in_a_real_process(case_files):
    tmp_path, _, _ = case_files
    result = subprocess.run(
        [sys.executable, "-m", "app", "score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred",
         str(tmp_path / "pred.nii.gz"), "--json", "-"],
        cwd=ROOT, env={**os.environ, "LC_ALL": "C", "LANG": "C"},  # an ASCII console: output stays UTF-8
        capture_output=True, encoding="utf-8", timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["num_classes"] == 7
    failed = subprocess.run(
        [sys.executable, "-m", "app", "score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred",
         str(_truncated(tmp_path))], cwd=ROOT, capture_output=True, encoding="utf-8", timeout=120)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().startswith("dicelens: error: ") and "cut.nii.gz" in failed.stderr


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--ignore-index", str(2**63)], "beyond the label values a mask can hold"),
    (["--ignore-index", "-" + str(2**70)], "beyond the label values a mask can hold"),
    (["--device", "bogus"], "use one of auto, cpu, cuda, cuda:N"),
    (["--device", ""], "use one of auto, cpu, cuda, cuda:N"),
    (["--device", "meta"], "use one of auto, cpu, cuda, cuda:N"),
    (["--device", "cuda:x"], "use one of auto, cpu, cuda, cuda:N"),
])
def test_impossible_ignore_index_and_device_exit_2_without_traceback(case_files, capsys, extra, fragment):
    tmp_path, _, _ = case_files
    with pytest.raises(SystemExit) as stopped:
        main(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz"), *extra])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_device_auto_and_largest_ignore_index_are_accepted(case_files, capsys):
    tmp_path, _, _ = case_files
    document = _json(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz"),
                      "--device", "auto", "--ignore-index", str(2**63 - 1)], capsys)
    assert document["ignore_index"] == 2**63 - 1 and document["ignored_voxels"] == 0


def test_ctrl_c_while_scoring_exits_130_with_one_line(case_files, capsys, monkeypatch):
    tmp_path, _, _ = case_files

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("app.scoring.score_case", interrupted)
    out = tmp_path / "out.json"
    assert main(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--pred", str(tmp_path / "pred.nii.gz"),
                 "--json", str(out)]) == 130
    assert capsys.readouterr().err == "dicelens: interrupted\n"
    assert not out.exists()
