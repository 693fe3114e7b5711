"""``dicelens score --instances --semantic-gt F --semantic-pred F``: instances counted per class of a separate
semantic mask; hand-counted, and the refusals (one mask only, another grid, an instance on background)."""

from __future__ import annotations

import csv
import io
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
    # The voxel scores are the semantic masks': row c holds class c's Dice and its object counts.
    _, _, gt_types, pred_types = semantic_images()
    both = np.count_nonzero((gt_types == 2) & (pred_types == 2))
    assert document["num_classes"] == 3
    assert document["classes"][2]["dice"] == pytest.approx(2 * both / (np.count_nonzero(gt_types == 2)
                                                                       + np.count_nonzero(pred_types == 2)))
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


# --- batch --semantic-gt DIR --semantic-pred DIR -----------------------------------------------------

@pytest.fixture
def semantic_dataset(tmp_path):
    gt, pred, gt_types, pred_types = semantic_images()
    folders = {name: tmp_path / name for name in ("gt", "pred", "gt_types", "pred_types")}
    for folder in folders.values():
        folder.mkdir()
    for case, flip in (("cells_a", False), ("cells_b", True)):
        typed = pred_types.copy()
        if flip:
            typed[3, 21:25] = 2   # instance 5 of type 2: 4 missed in class 1, 5 false in class 2
        for name, array in (("gt", gt), ("pred", pred), ("gt_types", gt_types), ("pred_types", typed)):
            write_volume(folders[name] / f"{case}.png", array)
    argv = ["--gt-dir", str(folders["gt"]), "--pred-dir", str(folders["pred"]), "--out", str(tmp_path / "out"),
            "--semantic-gt", str(folders["gt_types"]), "--semantic-pred", str(folders["pred_types"])]
    return argv, tmp_path / "out", folders


def test_batch_counts_instances_per_semantic_class(semantic_dataset, capsys):
    argv, out, _ = semantic_dataset
    assert main(["batch", *argv]) == 0, capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    cells = {(r["case"], r["index"]): (r["objects_tp"], r["objects_fp"], r["objects_fn"]) for r in rows
             if r["objects_tp"]}
    assert cells == {("cells_a", "1"): ("2", "0", "0"), ("cells_a", "2"): ("1", "1", "1"),
                     ("cells_b", "1"): ("1", "0", "1"), ("cells_b", "2"): ("1", "2", "1")}
    result = json.loads((out / "cases" / "cells_b.json").read_text())
    assert {"semantic_gt", "semantic_pred"} <= set(result["sha256"]) and "semantic_pred" in result["files"]


def test_batch_resume_rescores_when_a_semantic_mask_changes(semantic_dataset, capsys):
    argv, _, folders = semantic_dataset
    assert main(["batch", *argv]) == 0
    capsys.readouterr()
    assert main(["batch", *argv, "--resume"]) == 0
    assert "2 already scored (--resume), 0 to score" in capsys.readouterr().err
    write_volume(folders["pred_types"] / "cells_a.png", np.ones((30, 30), np.uint8))
    assert main(["batch", *argv, "--resume"]) == 0
    assert "1 already scored (--resume), 1 to score" in capsys.readouterr().err
    # Results without the semantic classes are not reused by a run with them.
    assert main(["batch", *argv[:6], "--instances"]) == 0
    assert main(["batch", *argv, "--resume"]) == 0
    assert "0 already scored (--resume), 2 to score" in capsys.readouterr().err


def test_batch_refuses_a_case_without_its_semantic_mask(semantic_dataset, capsys):
    argv, out, folders = semantic_dataset
    (folders["gt_types"] / "cells_b.png").unlink()
    assert main(["batch", *argv]) == 2
    err = capsys.readouterr().err
    assert "1 semantic mask(s) missing: cells_b (in --semantic-gt)" in err
    assert not (out / "metrics.csv").exists()


def test_semantic_masks_with_another_spacing_are_refused(tmp_path, capsys):
    ids = np.zeros((4, 6, 6), np.uint8)
    ids[1:3, 1:4, 1:4] = 1
    paths = [str(write_volume(tmp_path / f"{name}.nii.gz", ids)) for name in ("gt", "pred")]
    types = [str(write_volume(tmp_path / f"{name}_types.nii.gz", ids, spacing=(2.0, 2.0, 2.0)))
             for name in ("gt", "pred")]
    code = main(["score", "--gt", paths[0], "--pred", paths[1], "--semantic-gt", types[0], "--semantic-pred", types[1]])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "does not lie on the same voxel grid" in err and "spacing" in err and "--semantic-gt" in err
