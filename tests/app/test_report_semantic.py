"""``dicelens report --semantic-gt F --semantic-pred F``: instances counted per class of semantic masks, the
report's voxel table per semantic class, the verdict's criteria, key slices outlining one class, and no output
over a semantic mask."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.io import load_case
from app.object_options import ObjectOptions
from app.object_scoring import load_semantic_masks, semantic_case
from app.orientation import display_frame
from app.report.keyslices import SLICE_AXIS, screen_slice
from app.report.object_slices import object_key_slices
from app.scoring import score_case
from tests.app.io.conftest import write_volume
from tests.app.test_objects_semantic_cli import semantic_images


@pytest.fixture
def typed_cells(tmp_path):
    gt, pred, gt_types, pred_types = semantic_images()
    paths = {name: str(write_volume(tmp_path / f"{name}.png", array)) for name, array in
             (("gt", gt), ("pred", pred), ("gt_types", gt_types), ("pred_types", pred_types))}
    labels = tmp_path / "types.txt"
    labels.write_text("0 background\n1 lymphocyte\n2 tumour cell\n")
    argv = ["--gt", paths["gt"], "--pred", paths["pred"], "--semantic-gt", paths["gt_types"],
            "--semantic-pred", paths["pred_types"], "--labels", str(labels)]
    return argv, paths, tmp_path


def test_report_counts_instances_per_semantic_class(typed_cells, capsys):
    argv, _, folder = typed_cells
    out, data = folder / "r.pdf", folder / "r.json"
    assert main(["report", *argv, "--out", str(out), "--json", str(data)]) == 0, capsys.readouterr().err
    assert out.read_bytes().startswith(b"%PDF")
    document = json.loads(data.read_text())
    score, report = document["score"], document["report"]
    # The voxel table holds the semantic classes (not "instances (foreground)") ...
    assert [entry["name"] for entry in score["classes"]] == ["background", "lymphocyte", "tumour cell"]
    _, _, gt_types, pred_types = semantic_images()
    both = np.count_nonzero((gt_types == 1) & (pred_types == 1))
    either = np.count_nonzero(gt_types == 1) + np.count_nonzero(pred_types == 1)
    assert score["classes"][1]["dice"] == pytest.approx(2 * both / either)
    # ... and the objects are counted per class (hand counts of test_objects_semantic_cli).
    block = score["objects"]
    assert block["mode"] == "instance" and "instance_classes" in block["conventions"]
    assert [(e["name"], e["tp"], e["fp"], e["fn"]) for e in block["classes"]] == [
        ("lymphocyte", 2, 0, 0), ("tumour cell", 1, 1, 1)]
    assert {"gt", "pred", "semantic_gt", "semantic_pred"} <= set(score["inputs"])
    # Every criterion is listed; the missed-object one cannot be checked on a PNG (no pixel size).
    assert [c["holds"] for c in report["criteria"]][3] is None and len(report["criteria"]) == 4
    assert report["passes"] is False
    assert {(k["name"], k["kind"]) for k in report["object_slices"]} == {("tumour cell", "false"),
                                                                         ("tumour cell", "missed")}


def test_object_key_slices_outline_only_the_objects_class(typed_cells):
    _, paths, _ = typed_cells
    case = load_case(paths["gt"], paths["pred"])
    semantic = load_semantic_masks(case, paths["gt_types"], paths["pred_types"])
    score = score_case(case, objects=ObjectOptions(instances=True, iou_threshold=0.5, semantic=True),
                       semantic=semantic)
    typed = semantic_case(case, semantic)
    snapshots = object_key_slices(typed, score.objects)
    assert snapshots and all(k.class_index == 2 for k in snapshots)
    frame = display_frame(typed.geometry.direction, typed.geometry.spacing_zyx, SLICE_AXIS)
    for key_slice in snapshots:
        rows, cols = key_slice.crop
        for mask, shown in ((typed.gt, key_slice.gt), (typed.pred, key_slice.pred)):
            expected = (screen_slice(mask, key_slice.slice_index, frame) == 2)[rows, cols]
            np.testing.assert_array_equal(shown, expected)
        # the crop holds lymphocytes too: outlining every instance would have drawn them as this class
        assert np.any(screen_slice(typed.gt, key_slice.slice_index, frame)[rows, cols] == 1)


@pytest.mark.parametrize("option", ["--out", "--json"])
@pytest.mark.parametrize("semantic", ["gt_types", "pred_types"])
def test_report_never_writes_over_a_semantic_mask(typed_cells, capsys, option, semantic):
    argv, paths, folder = typed_cells
    before = open(paths[semantic], "rb").read()
    outputs = {"--out": str(folder / "r.pdf"), "--json": str(folder / "r.json"), option: paths[semantic]}
    code = main(["report", *argv, *(x for pair in outputs.items() for x in pair)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"--semantic-{semantic[:-6]}" in err and option in err
    assert open(paths[semantic], "rb").read() == before
    assert not (folder / "r.pdf").exists()


def test_report_needs_both_semantic_masks(typed_cells, capsys):
    argv, _, folder = typed_cells
    assert main(["report", *argv[:6], "--out", str(folder / "r.pdf")]) == 2
    assert "--semantic-gt needs --semantic-pred as well" in capsys.readouterr().err
