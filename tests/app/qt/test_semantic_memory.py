"""``view --semantic-gt/--semantic-pred`` in the memory budget (docs/architecture.md §5d): the objects lane counts
its copies of the semantic masks and the object masks it keeps, and the window counts its own copies of the
semantic masks when it reads them; over the budget is one message (the lane off, or the case refused)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from app import cli, object_scoring
from app.io import limits
from app.qt.main_window import MainWindow
from app.qt.objects_worker import ObjectsFailure, ObjectsLoadRequest, ObjectsReply, ObjectsWorkerState, process
from dice_engine import live_objects
from dice_engine.live_objects import LiveObjects, score_cache_bytes
from tests.app.qt.test_instance_window import files, keep_style_sheet, nuclei  # noqa: F401 (fixtures)


def test_the_kept_object_masks_are_the_engines_bound():
    assert limits.OBJECT_MASKS_KEPT_BYTES == live_objects.KEPT_MASK_BYTES


def semantic_request(generation: int, gt, pred, gt_types, pred_types) -> ObjectsLoadRequest:
    return ObjectsLoadRequest(generation, 1, gt, pred, (1.0, 1.0, 1.0), 3, True, semantic=(gt_types, pred_types))


def test_the_budget_counts_what_semantic_live_objects_keeps():
    gt, pred, gt_types, pred_types = (a[None] for a in nuclei(size=64, count=20))
    live = LiveObjects(target=gt, preds=pred, instances=True, target_semantic=gt_types, preds_semantic=pred_types,
                       num_classes=3)
    tables = live._tables
    kept = sum(a.nbytes for group in (tables.masks, tables.labels, live._semantic) for a in group.values())
    budget = limits.objects_memory_bytes(gt.size, mask_bytes=2, semantic_bytes=1)
    assert budget >= kept
    copies = sum(a.nbytes for a in live._semantic.values())
    assert budget - limits.objects_memory_bytes(gt.size, mask_bytes=2) >= copies   # the semantic part is counted
    wide = LiveObjects(target=gt, preds=pred, instances=True, target_semantic=gt_types.astype(np.uint16),
                       preds_semantic=pred_types.astype(np.uint16), num_classes=3)
    kept_wide = sum(a.nbytes for group in (wide._tables.masks, wide._tables.labels, wide._semantic)
                    for a in group.values())
    assert limits.objects_memory_bytes(gt.size, mask_bytes=2, semantic_bytes=2) >= kept_wide > kept


def test_the_objects_lane_counts_the_semantic_copies(monkeypatch):
    gt, pred, gt_types, pred_types = (a[None] for a in nuclei(size=64, count=20))
    without = (limits.objects_memory_bytes(gt.size, mask_bytes=2) + limits.OBJECT_MASKS_KEPT_BYTES
               + score_cache_bytes(target=gt, preds=pred))
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: without)
    assert limits.objects_lane_memory_problem(gt, pred) is None   # fits as foreground instances
    message = limits.objects_lane_memory_problem(gt, pred, (gt_types, pred_types))
    assert message.startswith("Objects are not counted for this case")
    assert "for its volumes and copies of the semantic masks" in message and "object masks kept" in message
    state = ObjectsWorkerState()
    reply = process(state, semantic_request(1, gt, pred, gt_types, pred_types))
    assert isinstance(reply, ObjectsFailure) and reply.message == message and state.live is None
    enough = (limits.objects_memory_bytes(gt.size, mask_bytes=2, semantic_bytes=1) + limits.OBJECT_MASKS_KEPT_BYTES
              + score_cache_bytes(target=gt, preds=pred))
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: enough)
    assert isinstance(process(state, semantic_request(2, gt, pred, gt_types, pred_types)), ObjectsReply)


def test_semantic_copies_memory_problem_names_the_files_and_the_way_out(monkeypatch):
    classes = np.zeros((10, 100, 100), np.uint8)
    names = ("--semantic-gt 'a.nii.gz'", "--semantic-pred 'b.nii.gz'")
    monkeypatch.delenv(limits.MAX_VOXELS_VARIABLE, raising=False)
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 2 * classes.nbytes)
    assert limits.semantic_copies_memory_problem(classes, classes, names) is None   # one copy of each: fits
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 2 * classes.nbytes - 1)
    message = limits.semantic_copies_memory_problem(classes, classes, names)
    assert message.startswith("--semantic-gt 'a.nii.gz' and --semantic-pred 'b.nii.gz' were read")
    assert "need about 0.2 MB of memory more" in message and "leave out --semantic-gt" in message
    assert limits.semantic_copies_memory_problem(classes, classes, names, max_voxels=10**6) is None   # user-sized
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "1000000")
    assert limits.semantic_copies_memory_problem(classes, classes, names) is None


@pytest.mark.parametrize("short", [True, False])
def test_view_refuses_semantic_masks_whose_copies_do_not_fit(tmp_path, capsys, monkeypatch, files, short):  # noqa: F811
    """Memory runs short once the semantic masks are read: one message, exit 2, no window left running."""
    monkeypatch.delenv(limits.MAX_VOXELS_VARIABLE, raising=False)
    read = object_scoring.load_semantic_masks

    def read_then_run_short(*args, **kwargs):
        masks = read(*args, **kwargs)
        if short:
            monkeypatch.setattr(limits, "available_memory_bytes", lambda: masks.gt.nbytes + masks.pred.nbytes - 1)
        return masks

    monkeypatch.setattr(object_scoring, "load_semantic_masks", read_then_run_short)
    shot = tmp_path / "shot.png"
    code = cli.main(["view", "--gt", files["gt"], "--pred", files["pred"], "--semantic-gt", files["gt_types"],
                     "--semantic-pred", files["pred_types"], "--screenshot", str(shot)])
    err = capsys.readouterr().err
    if short:
        assert code == 2 and "window's copies of them" in err and files["gt_types"] in err
        assert "Traceback" not in err and not shot.exists()
    else:
        assert code == 0 and shot.exists()
    assert all(widget.jobs.stopped for widget in QApplication.topLevelWidgets() if isinstance(widget, MainWindow))
