"""Issue 14 audit: what a user reads about objects — a size limit that hides a missed lesion from the verdict,
the size limit stated in both units, the voxel centroid, and the report's F1 / PQ at both instance thresholds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.cli import main
from app.io import load_case
from app.object_document import CaseObjects
from app.object_options import ObjectOptions
from app.object_text import thresholds_line
from app.report.verdict import VerdictCriteria, evaluate_verdict
from app.scoring import score_case
from tests.app.io.conftest import ANISOTROPIC_SPACING, write_volume
from tests.app.report.casefiles import pdf_text
from tests.app.test_objects_cli import instance_images, lesion_masks

VOXEL_ML = math.prod(ANISOTROPIC_SPACING) / 1000


@pytest.fixture
def missed_lesion(tmp_path):
    """One lesion found exactly and one lesion of 96 voxels missed."""
    gt = np.zeros((12, 40, 40), np.uint8)
    gt[1:9, 2:22, 2:22] = 1
    pred = gt.copy()
    gt[9:11, 30:34, 28:40] = 1
    return load_case(write_volume(tmp_path / "gt.nii.gz", gt), write_volume(tmp_path / "pred.nii.gz", pred))


def missed_check(case, min_size_voxels: int, limit_ml: float):
    score = score_case(case, objects=ObjectOptions(min_size_voxels=min_size_voxels))
    verdict = evaluate_verdict(score, VerdictCriteria(min_mean_dice=0.0, max_hd95_mm=1e9,
                                                      max_volume_difference_percent=1e9,
                                                      max_missed_object_ml=limit_ml))
    return verdict, verdict.checks[3]


def test_a_size_limit_that_can_hide_a_missed_lesion_leaves_the_criterion_unchecked(missed_lesion):
    lesion_ml = 96 * VOXEL_ML
    limit = lesion_ml / 2
    verdict, check = missed_check(missed_lesion, min_size_voxels=200, limit_ml=limit)   # the lesion is left out
    assert check.holds is None and not verdict.passes
    assert "1 ground-truth object(s) under the size limit of" in check.finding and "200 voxels" in check.finding
    assert "lower --min-size" in check.finding
    # Without the size limit the same lesion fails the criterion ...
    _, check = missed_check(missed_lesion, min_size_voxels=0, limit_ml=limit)
    assert check.holds is False
    # ... and a size limit under the criterion's volume hides nothing it asks about.
    small = math.floor(limit / VOXEL_ML)   # objects of at most small - 1 voxels are left out: under the limit
    verdict, check = missed_check(missed_lesion, min_size_voxels=small, limit_ml=limit)
    assert check.holds is False   # still seen and missed
    verdict, check = missed_check(missed_lesion, min_size_voxels=small, limit_ml=lesion_ml * 2)
    assert check.holds is True and verdict.checks[3].finding == "1 missed object(s), all smaller"


def test_an_older_document_without_the_voxel_volume_is_not_trusted_with_left_out_objects(missed_lesion):
    score = score_case(missed_lesion, objects=ObjectOptions(min_size_voxels=200))
    block = score.objects.to_json()
    assert block["voxel_ml"] == pytest.approx(VOXEL_ML)
    del block["voxel_ml"]
    older = CaseObjects.from_json(block)
    assert older.voxel_ml is None and older.largest_left_out_ml is None
    verdict = evaluate_verdict(score.__class__.from_json({**score.to_json(), "objects": block}), VerdictCriteria())
    assert verdict.checks[3].holds is None and "200 voxels" in verdict.checks[3].finding


def test_a_size_limit_in_voxels_is_stated_in_ml_too(tmp_path, capsys):
    gt = np.zeros((6, 20, 20), np.uint8)
    gt[1:4, 2:8, 2:8] = 1
    argv = ["score", "--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)),
            "--pred", str(write_volume(tmp_path / "pred.nii.gz", gt)), "--min-size", "100"]
    assert main([*argv, "--json", "-"]) == 0
    block = json.loads(capsys.readouterr().out)["objects"]
    assert block["voxel_ml"] == pytest.approx(VOXEL_ML) and CaseObjects.from_json(block).to_json() == block
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"objects under 100 voxels ({100 * block['voxel_ml']:.3g} mL) left out" in out, out


def test_the_table_gives_each_objects_voxel_centroid(tmp_path, capsys):
    gt = np.zeros((6, 20, 20), np.uint8)
    gt[1:4, 2:8, 2:9] = 1   # missed: centroid voxel (2, 4.5, 5)
    argv = ["score", "--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)),
            "--pred", str(write_volume(tmp_path / "pred.nii.gz", np.zeros_like(gt))), "--objects"]
    assert main(argv) == 0
    assert "voxel (2.0, 4.5, 5.0) (z, y, x)" in capsys.readouterr().out


def test_the_report_gives_f1_and_pq_at_both_instance_thresholds_and_voxel_centroids(tmp_path, capsys):
    gt, pred = instance_images()
    out, data = tmp_path / "r.pdf", tmp_path / "r.json"
    assert main(["report", "--gt", str(write_volume(tmp_path / "gt.png", gt)),
                 "--pred", str(write_volume(tmp_path / "pred.png", pred)), "--instances", "--out", str(out),
                 "--json", str(data)]) == 0, capsys.readouterr().err
    text = " ".join(pdf_text(out).split())
    objects = CaseObjects.from_json(json.loads(data.read_text())["score"]["objects"])
    (entry,) = objects.classes
    assert thresholds_line(entry) in text and "at IoU ≥ 0.75" in text
    # a 2D image (docs/architecture.md §5e): the pixel index (y, x), no slice
    assert "centroid px pixel IoU" in text and "pixel index (y, x)" in text and "key slice z" not in text
    for item in entry.items:
        assert ", ".join(f"{v:.1f}" for v in item.centroid_voxel_zyx[1:]) in text


def test_matched_objects_carry_iou_and_dice_with_their_match(tmp_path, capsys):
    gt, pred = lesion_masks()
    argv = ["score", "--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)),
            "--pred", str(write_volume(tmp_path / "pred.nii.gz", pred)), "--objects", "--json", "-"]
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    first, second = document["objects"]["classes"]
    # Class 1: lesion A (48 voxels) found exactly; B missed. Class 2: C (24 voxels) moved by one row, 18 shared.
    (found,) = first["matched"]
    assert (found["kind"], found["voxels"], found["iou"], found["dice"], found["distance_mm"]) == \
        ("matched", 48, 1.0, 1.0, 0.0)
    assert found["centroid_voxel_zyx"] == [2.0, 3.5, 3.5] and found["key_slice_zyx"][0] == 1
    (shifted,) = second["matched"]
    assert shifted["voxels"] == 24 and shifted["volume_ml"] == pytest.approx(24 * VOXEL_ML, rel=1e-6)
    assert shifted["iou"] == pytest.approx(18 / (24 + 24 - 18)) and shifted["dice"] == pytest.approx(36 / 48)
    assert [item["kind"] for item in first["items"]] == ["missed", "false"]   # unchanged: unmatched only
    older = {**first}
    del older["matched"]
    assert CaseObjects.from_json({**document["objects"], "classes": [older]}).classes[0].matched == ()
    assert CaseObjects.from_json(document["objects"]).to_json() == document["objects"]


def test_the_report_counts_the_objects_left_out_by_the_size_limit(tmp_path, capsys):
    gt, pred = lesion_masks()   # class 1: A 48 voxels, B 40 (missed), false 12; class 2: C 24 and 24
    out, data = tmp_path / "r.pdf", tmp_path / "r.json"
    assert main(["report", "--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)), "--no-distances",
                 "--pred", str(write_volume(tmp_path / "pred.nii.gz", pred)), "--min-size", "30", "--out", str(out),
                 "--json", str(data)]) == 0, capsys.readouterr().err
    text = " ".join(pdf_text(out).split())
    assert "label 1: 0 ground-truth and 1 predicted object(s) under the size limit left out." in text
    assert "label 2: 1 ground-truth and 1 predicted object(s) under the size limit left out." in text
