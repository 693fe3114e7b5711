"""``dicelens score --instances --semantic-gt F --semantic-pred F``: instances counted per class of a separate
semantic mask; hand-counted, and the refusals (one mask only, another grid, an instance on background)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.score_document import CaseScore
from tests.app.io.conftest import write_volume
from tests.app.test_objects_cli import instance_images


def semantic_images():
    """Types of the instances of :func:`instance_images`. GT: 1 and 4 are type 1, 2 and 3 type 2.
    Prediction: 7 (over 1) type 1; 3 and 9 (the halves of 2) type 2; 5 (over 4) is mostly type 2, so it is
    false in class 2 and 4 is missed in class 1."""
    gt, pred = instance_images()
    gt_types = np.select([np.isin(gt, (1, 4)), np.isin(gt, (2, 3))], [1, 2], 0).astype(np.uint8)
    pred_types = np.select([pred == 7, np.isin(pred, (3, 9, 5))], [1, 2], 0).astype(np.uint8)
    pred_types[2:4, 21:25] = 1   # 5 (rows 2-5): 8 voxels of type 1, 8 of type 2: a tie, to the smaller type 1
    return gt, pred, gt_types, pred_types


@pytest.fixture
def semantic_case(tmp_path):
    gt, pred, gt_types, pred_types = semantic_images()
    paths = {name: str(write_volume(tmp_path / f"{name}.png", array)) for name, array in
             (("gt", gt), ("pred", pred), ("gt_types", gt_types), ("pred_types", pred_types))}
    return paths, pred_types


def run_json(argv, capsys):
    code = main(["score", *argv, "--json", "-"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_instances_are_counted_per_semantic_class(semantic_case, capsys):
    paths, _ = semantic_case
    document = run_json(["--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"],
                         "--semantic-pred", paths["pred_types"]], capsys)
    block = document["objects"]
    assert block["mode"] == "instance" and "instance_classes" in block["conventions"]
    first, second = block["classes"]
    # Class 1: 1 found by 7 (IoU 1), 4 found by 5 (IoU 0.6, the tie made 5 type 1). Class 2: one half of 2
    # matches at IoU 0.5, the other half is false, 3 is missed.
    assert (first["index"], first["tp"], first["fp"], first["fn"]) == (1, 2, 0, 0)
    assert (second["index"], second["tp"], second["fp"], second["fn"]) == (2, 1, 1, 1)
    assert first["at_thresholds"]["0.75"]["f1"] == pytest.approx(2 / 4)   # only 1 matches at 0.75
    assert second["at_thresholds"]["0.75"]["f1"] == 0.0
    assert set(document["inputs"]) >= {"gt", "pred", "semantic_gt", "semantic_pred"}
    assert CaseScore.from_json(document).to_json() == document


def test_the_majority_decides_the_class(semantic_case, tmp_path, capsys):
    paths, pred_types = semantic_case
    retyped = pred_types.copy()
    retyped[3, 21:25] = 2   # instance 5: now 12 voxels of type 2 against 4 of type 1
    paths["pred_types"] = str(write_volume(tmp_path / "retyped.png", retyped))
    block = run_json(["--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"],
                      "--semantic-pred", paths["pred_types"]], capsys)["objects"]
    first, second = block["classes"]
    assert (first["tp"], first["fp"], first["fn"]) == (1, 0, 1)    # 4 missed in class 1
    assert (second["tp"], second["fp"], second["fn"]) == (1, 2, 1)  # 5 false in class 2


def test_one_semantic_mask_alone_is_refused(semantic_case, capsys):
    paths, _ = semantic_case
    assert main(["score", "--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"]]) == 2
    assert "--semantic-gt needs --semantic-pred as well" in capsys.readouterr().err


def test_a_semantic_mask_of_another_grid_is_refused(semantic_case, tmp_path, capsys):
    paths, _ = semantic_case
    other = str(write_volume(tmp_path / "small.png", np.ones((20, 30), np.uint8)))
    code = main(["score", "--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", other,
                 "--semantic-pred", other])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "--semantic-gt" in err and "same images as --gt and --pred" in err


def test_an_instance_on_semantic_background_is_refused(semantic_case, tmp_path, capsys):
    paths, pred_types = semantic_case
    untyped = pred_types.copy()
    untyped[2:8, 2:8] = 0   # instance 7 has no type
    paths["pred_types"] = str(write_volume(tmp_path / "untyped.png", untyped))
    code = main(["score", "--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"],
                 "--semantic-pred", paths["pred_types"]])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "--semantic-pred: 1 instance(s) of --pred lie entirely on background" in err
    assert "instance id 7" in err


def test_semantic_masks_are_not_overwritten(semantic_case, capsys):
    paths, _ = semantic_case
    code = main(["score", "--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"],
                 "--semantic-pred", paths["pred_types"], "--json", paths["gt_types"]])
    assert code == 2 and "--semantic-gt" in capsys.readouterr().err


def test_the_table_says_where_the_classes_come_from(semantic_case, capsys):
    paths, _ = semantic_case
    assert main(["score", "--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"],
                 "--semantic-pred", paths["pred_types"]]) == 0
    assert "one object, of the class most of its voxels have in the semantic mask" in capsys.readouterr().out
