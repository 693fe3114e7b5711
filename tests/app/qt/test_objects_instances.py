"""Instance mode in the window: ``view --instances`` makes the objects lane count instance ids, following edits."""

from __future__ import annotations

import numpy as np

from app.cli import main
from app.qt.objects_controller import ObjectsController
from dice_engine.objects import instance_scores
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_objects_dock import edit, summary


def instance_case():
    """The organ case's boxes as instances 10-13 (13, the tumour, inside the liver 10); the prediction is the
    ground truth with the liver split in three along x (each part IoU < 0.5) and a false blob."""
    case = organ_case()
    gt = np.zeros(case.gt.shape, np.uint16)
    for object_id, label in enumerate((1, 2, 3, 4), start=10):
        gt[case.gt == label] = object_id
    pred = gt.copy()
    for first, part in ((5, 30), (8, 32)):
        columns = pred[:, :, first:first + 3]
        columns[columns == 10] = part
    pred[8:10, 16:20, 14:17] = 31   # a false instance
    case.gt, case.pred = gt, pred
    return case


def from_scratch(case) -> dict:
    return summary(instance_scores(target=case.gt, preds=case.pred, spacing=case.geometry.spacing_zyx))


def test_controller_counts_instances_and_follows_id_edits(qtbot):
    case = instance_case()
    controller = ObjectsController()
    controller.instances = True
    with qtbot.waitSignal(controller.objects_ready) as loaded:
        controller.load(case)
    scores = loaded.args[0].scores
    assert scores.mode == "instance" and scores.iou_threshold == 0.5
    assert summary(scores) == from_scratch(case)
    assert summary(scores)[1][0] == (3, 4, 1)   # the liver missed, its three parts and the blob false
    # One stroke paints the liver's box with id 10: the liver is found, the predicted tumour is gone.
    controller.submit_delta(edit(case, "pred", (slice(1, 10), slice(2, 12), slice(2, 10)), 10))
    with qtbot.waitSignal(controller.objects_ready) as updated:
        controller.flush()
    assert summary(updated.args[0].scores) == from_scratch(case)
    assert summary(updated.args[0].scores)[1][0] == (3, 1, 1)
    controller.shutdown()


def test_view_passes_instances_to_the_window(monkeypatch):
    seen = {}

    def fake_run_view(paths, **options):
        seen.update(options)
        return 0

    monkeypatch.setattr("app.qt.app_runner.run_view", fake_run_view)
    assert main(["view", "--gt", "gt.nii.gz", "--pred", "pred.nii.gz", "--instances"]) == 0
    assert seen["instances"] is True
    assert main(["view", "--gt", "gt.nii.gz", "--pred", "pred.nii.gz"]) == 0
    assert seen["instances"] is False
