"""``dicelens score --objects``: the JSON ``objects`` block, CSV columns, table lines, options and bad options."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from app.cli import main
from app.score_document import CaseScore
from tests.app.io.conftest import ANISOTROPIC_SPACING, ORIGIN, write_volume

VOXEL_ML = math.prod(ANISOTROPIC_SPACING) / 1000
SPACING_ZYX = ANISOTROPIC_SPACING[::-1]


def lesion_masks():
    """Class 1: lesion A found, lesion B missed, one false lesion; class 2: lesion C found at IoU 0.6."""
    gt = np.zeros((8, 20, 24), np.uint8)
    gt[1:4, 2:6, 2:6] = 1      # A, 48 voxels
    gt[5:7, 12:16, 15:20] = 1  # B, 40 voxels
    gt[1:3, 14:18, 2:5] = 2    # C, 24 voxels
    pred = np.zeros_like(gt)
    pred[1:4, 2:6, 2:6] = 1
    pred[1:3, 15:19, 2:5] = 2  # C moved by one row: 18 shared of 30
    pred[6:8, 2:4, 20:23] = 1  # false, 12 voxels
    return gt, pred


@pytest.fixture
def lesion_case(tmp_path):
    gt, pred = lesion_masks()
    return (["--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)),
             "--pred", str(write_volume(tmp_path / "pred.nii.gz", pred))], gt, pred)


def run_json(argv, capsys):
    code = main(["score", *argv, "--json", "-"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_objects_block_counts_items_and_round_trip(lesion_case, capsys):
    argv, gt, pred = lesion_case
    document = run_json([*argv, "--objects"], capsys)
    block = document["objects"]
    assert (block["mode"], block["iou_threshold"], block["connectivity"], block["min_size_voxels"]) == \
        ("lesion", 0.1, 26, 0)
    first, second = block["classes"]
    assert (first["index"], first["tp"], first["fp"], first["fn"]) == (1, 1, 1, 1)
    assert (first["precision"], first["recall"], first["f1"]) == (0.5, 0.5, 0.5)
    assert first["pq"] == pytest.approx(1.0 * 0.5) and first["sq"] == 1.0
    assert (second["tp"], second["fp"], second["fn"], second["sq"]) == (1, 0, 0, pytest.approx(0.6))
    missed, false = first["items"]
    assert (missed["kind"], missed["voxels"], false["kind"], false["voxels"]) == ("missed", 40, "false", 12)
    assert missed["volume_ml"] == pytest.approx(40 * VOXEL_ML)
    assert missed["centroid_voxel_zyx"] == [5.5, 13.5, 17.0]
    expected_mm = [o + s * i for o, s, i in zip(ORIGIN, ANISOTROPIC_SPACING, (17.0, 13.5, 5.5), strict=True)]
    assert missed["centroid_mm"] == pytest.approx(expected_mm, abs=1e-3)
    assert missed["key_slice_zyx"] == [5, 12, 15] and missed["iou"] == 0.0
    b_voxels = np.argwhere(gt == 1)[np.argwhere(gt == 1)[:, 0] >= 5] * SPACING_ZYX
    assert missed["distance_mm"] == pytest.approx(cdist(b_voxels, np.argwhere(pred == 1) * SPACING_ZYX).min())
    assert CaseScore.from_json(document).to_json() == document


def test_without_objects_the_document_has_no_block(lesion_case, capsys):
    assert "objects" not in run_json(lesion_case[0], capsys)


def test_csv_columns(lesion_case, capsys):
    assert main(["score", *lesion_case[0], "--objects", "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["objects_tp"], r["objects_fp"], r["objects_fn"], r["objects_f1"]) for r in rows] == \
        [("", "", "", ""), ("1", "1", "1", "0.5"), ("1", "0", "0", "1.0")]


def test_table_lists_missed_and_false_objects(lesion_case, capsys):
    assert main(["score", *lesion_case[0], "--objects"]) == 0
    out = capsys.readouterr().out
    assert "Objects (lesion mode: connected components of each class, 26-connectivity; matched one-to-one at " \
           "IoU ≥ 0.1):" in out
    assert f"missed label 1: {40 * VOXEL_ML:.3f} mL (40 vox), key slice z 5" in out
    assert f"false label 1: {12 * VOXEL_ML:.3f} mL (12 vox), key slice z 6" in out


@pytest.mark.parametrize(("options", "class_counts"), [
    (["--iou", "0.7"], [(1, 1, 1), (0, 1, 1)]),
    (["--iou", "any"], [(1, 1, 1), (1, 0, 0)]),
    (["--min-size", "20"], [(1, 0, 1), (1, 0, 0)]),
    (["--min-size", "0.05ml"], [(1, 0, 1), (0, 0, 0)]),  # 0.05 mL = 31.7 voxels: C (24) and the false lesion out
    (["--connectivity", "6"], [(1, 1, 1), (1, 0, 0)]),
])
def test_options_change_the_counts(lesion_case, capsys, options, class_counts):
    block = run_json([*lesion_case[0], *options], capsys)["objects"]
    assert [(c["tp"], c["fp"], c["fn"]) for c in block["classes"]] == class_counts


def test_min_size_in_ml_is_stated(lesion_case, capsys):
    block = run_json([*lesion_case[0], "--min-size", "0.05ml"], capsys)["objects"]
    assert (block["min_size_ml"], block["min_size_voxels"]) == (0.05, math.ceil(0.05 / VOXEL_ML))
    assert (block["classes"][1]["gt_left_out"], block["classes"][1]["pred_left_out"]) == (1, 1)


@pytest.mark.parametrize(("options", "message"), [
    (["--iou", "1.5"], "--iou must be an IoU between 0 and 1"),
    (["--min-size", "ten"], "--min-size must be a number of voxels or a volume in mL"),
    (["--min-size", "2.5"], "a number of voxels must be whole"),
    (["--connectivity", "8"], "--connectivity 8 is for 2D images; this case is 3D"),
])
def test_bad_object_options_exit_2(lesion_case, capsys, options, message):
    assert main(["score", *lesion_case[0], *options]) == 2
    assert message in capsys.readouterr().err


def instance_images():
    gt = np.zeros((30, 30), np.uint16)
    gt[2:8, 2:8] = 1       # found exactly
    gt[10:20, 2:12] = 2    # split in two halves by the prediction: IoU 0.5 each
    gt[22:28, 20:28] = 3   # missed
    gt[2:6, 20:24] = 4     # found at IoU 12/20 = 0.6
    pred = np.zeros_like(gt)
    pred[2:8, 2:8] = 7
    pred[10:15, 2:12] = 3
    pred[15:20, 2:12] = 9
    pred[2:6, 21:25] = 5
    return gt, pred


def test_instances_on_2d_images(tmp_path, capsys):
    gt, pred = instance_images()
    argv = ["--gt", str(write_volume(tmp_path / "gt.png", gt)),
            "--pred", str(write_volume(tmp_path / "pred.png", pred))]
    block = run_json([*argv, "--instances"], capsys)["objects"]
    assert (block["mode"], block["iou_threshold"], block["connectivity"]) == ("instance", 0.5, None)
    (entry,) = block["classes"]
    # At τ = 0.5 one half of instance 2 matches (most matches, then IoU): 3 matched, 1 missed, 1 false.
    assert (entry["tp"], entry["fp"], entry["fn"]) == (3, 1, 1)
    assert entry["at_thresholds"]["0.5"]["f1"] == pytest.approx(6 / 8)
    # At 0.75 only instance 1 (IoU 1) matches: F1 = 2/(2+3+3), PQ = 1/(1+1.5+1.5).
    assert entry["at_thresholds"]["0.75"] == {"f1": pytest.approx(0.25), "pq": pytest.approx(0.25)}
    assert [(item["kind"], item["voxels"]) for item in entry["items"]] == [("false", 50), ("missed", 48)]
    assert entry["items"][0]["volume_ml"] is None  # a PNG has no physical pixel size



def test_instances_are_scored_voxel_by_voxel_as_foreground(tmp_path, capsys):
    gt, pred = instance_images()
    argv = ["--gt", str(write_volume(tmp_path / "gt.png", gt)),
            "--pred", str(write_volume(tmp_path / "pred.png", pred))]
    document = run_json([*argv, "--instances"], capsys)
    # Eight instance ids would be eight "classes"; in instance mode the voxels are foreground or background.
    assert document["num_classes"] == 2 and document["classes"][1]["name"] == "instances (foreground)"
    both, either = np.count_nonzero((gt > 0) & (pred > 0)), np.count_nonzero(gt > 0) + np.count_nonzero(pred > 0)
    assert document["classes"][1]["dice"] == pytest.approx(2 * both / either)
    assert CaseScore.from_json(document).to_json() == document
    assert main(["score", *argv, "--instances", "--ignore-index", "3"]) == 2
    assert "--ignore-index does not apply to instance ids" in capsys.readouterr().err


def test_report_of_instance_images(tmp_path, capsys):
    gt, pred = instance_images()
    argv = ["--gt", str(write_volume(tmp_path / "gt.png", gt)),
            "--pred", str(write_volume(tmp_path / "pred.png", pred))]
    out, data = tmp_path / "r.pdf", tmp_path / "r.json"
    assert main(["report", *argv, "--instances", "--out", str(out), "--json", str(data)]) == 0, \
        capsys.readouterr().err
    document = json.loads(data.read_text())["report"]
    missed = document["criteria"][3]
    assert (missed["holds"], missed["finding"]) == (None, "the image has no physical pixel size")
    assert [k["kind"] for k in document["object_slices"]] == ["false", "missed"]


def test_min_size_in_ml_needs_a_physical_pixel_size(tmp_path, capsys):
    gt, pred = instance_images()
    argv = ["--gt", str(write_volume(tmp_path / "gt.png", gt)),
            "--pred", str(write_volume(tmp_path / "pred.png", pred))]
    assert main(["score", *argv, "--instances", "--min-size", "0.1ml"]) == 2
    assert "this image has no physical pixel size; give the size in pixels" in capsys.readouterr().err


def test_connectivity_of_a_2d_image_is_counted_in_2d_terms(tmp_path, capsys):
    gt = np.zeros((6, 6), np.uint8)
    gt[1, 1] = gt[2, 2] = 1  # touching at a corner only
    argv = ["--gt", str(write_volume(tmp_path / "gt.png", gt)), "--pred", str(write_volume(tmp_path / "pred.png", gt))]
    counts = {}
    for option in ([], ["--connectivity", "4"], ["--connectivity", "6"], ["--connectivity", "8"]):
        block = run_json([*argv, "--objects", *option], capsys)["objects"]
        counts[" ".join(option)] = (block["connectivity"], block["classes"][0]["gt_objects"])
    assert counts == {"": (8, 1), "--connectivity 4": (4, 2), "--connectivity 6": (4, 2), "--connectivity 8": (8, 1)}
