"""A threshold step (and its undo/redo) tells which labels its voxels had and have (``Delta.known_labels``,
docs/architecture.md §8a): the distances controller marks those classes stale without comparing the delta's
volume-sized boxes on the GUI thread, and the figures published after it are still exact."""

from dataclasses import replace

import numpy as np

import app.qt.distance_controller as distance_controller
from app.model.replacement import changed_labels as step_labels
from app.model.replacement import prepare_replacement
from app.qt.engine_controller import EngineController
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_distances_gui import KIDNEY_REGION, assert_same, changed_labels, fix_kidney, from_scratch


def test_known_labels_mark_the_same_classes_stale_without_comparing_the_boxes(qtbot, monkeypatch):
    controller = EngineController(sync=True, device="cpu")
    case = organ_case()
    controller.load(case)
    stale, updates = [], []
    controller.distances_stale.connect(stale.append)
    controller.distances_ready.connect(updates.append)
    delta = fix_kidney(case)
    labels = tuple(sorted(changed_labels(delta) | {0}))   # what the edit model would say (background included)

    def no_compare(*_args):
        raise AssertionError("the boxes were compared on the GUI thread")

    monkeypatch.setattr(distance_controller.np, "broadcast_arrays", no_compare)
    controller.submit_delta(replace(delta, known_labels=labels))
    assert stale == [frozenset(changed_labels(delta))]
    monkeypatch.undo()
    with qtbot.waitSignal(controller.distances_ready, timeout=5000):
        pass
    assert_same(updates[-1].result, from_scratch(case))


def test_a_steps_labels_are_those_its_voxels_had_or_have():
    case = organ_case()
    values = case.pred.copy()
    values[KIDNEY_REGION] = case.gt[KIDNEY_REGION]
    prepared = prepare_replacement(case.pred, values, "pred", 0, 6)
    changed = case.pred != values
    expected = tuple(int(label) for label in np.union1d(case.pred[changed], values[changed]))
    assert prepared.labels == step_labels(prepared.step) == expected
