"""The Objects dock: lesion counts on their own lane, following edits exactly, and jumps to an object."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QDockWidget

from app.model.delta import Delta, frozen_copy
from app.qt.objects_controller import ObjectsController
from app.qt.objects_dock import ObjectsPanel
from app.qt.objects_worker import (
    ObjectsEditRequest,
    ObjectsFailure,
    ObjectsLoadRequest,
    ObjectsReply,
    ObjectsWorkerState,
    process,
)
from app.qt.review_state import ReviewState
from dice_engine.objects import object_scores
from tests.app.qt.panels_cases import organ_case


def summary(scores) -> dict:
    """Per class: counts and the (mask, anchor, voxels) of every missed and false object."""
    return {c.class_index: ((c.counts.tp, c.counts.fp, c.counts.fn),
                            sorted((o.mask, o.anchor, o.voxels) for o in (*c.missed, *c.false)))
            for c in scores.classes}


def from_scratch(case) -> dict:
    return summary(object_scores(target=case.gt, preds=case.pred, num_classes=case.num_classes,
                                 spacing=case.geometry.spacing_zyx))


def edit(case, which: str, region, value: int) -> Delta:
    """Write ``value`` into ``region`` of one mask, as the edit model reports it."""
    mask = getattr(case, which)
    old = frozen_copy(mask[region])
    mask[region] = value
    return Delta(which, region, old, frozen_copy(mask[region]))


FALSE_BLOB = (slice(0, 2), slice(20, 23), slice(16, 19))   # background in both masks of organ_case
KIDNEY_GAP = (slice(4, 11), slice(4, 10), slice(12, 14))    # the predicted kidney misses these columns


def test_worker_follows_edits_exactly():
    case = organ_case()
    state = ObjectsWorkerState()
    reply = process(state, ObjectsLoadRequest(1, 1, case.gt.copy(), case.pred.copy(),
                                              case.geometry.spacing_zyx, case.num_classes))
    assert isinstance(reply, ObjectsReply) and summary(reply.scores) == from_scratch(case)
    deltas = (edit(case, "pred", FALSE_BLOB, 2), edit(case, "gt", (slice(3, 6), slice(5, 8), slice(4, 7)), 0))
    reply = process(state, ObjectsEditRequest(1, 2, deltas))
    assert isinstance(reply, ObjectsReply) and summary(reply.scores) == from_scratch(case)
    assert summary(reply.scores)[4][0][2] == 0   # the ground-truth tumour was erased: none missed


def test_worker_refuses_an_edit_of_another_generation_and_a_label_it_cannot_hold():
    case = organ_case()
    state = ObjectsWorkerState()
    process(state, ObjectsLoadRequest(2, 1, case.gt, case.pred, case.geometry.spacing_zyx, case.num_classes))
    assert process(state, ObjectsEditRequest(1, 2, ())) == ObjectsFailure(1, 2, "")
    bad = Delta("pred", FALSE_BLOB, frozen_copy(case.pred[FALSE_BLOB]),
                frozen_copy(np.full((2, 3, 3), 9, np.uint8)))
    reply = process(state, ObjectsEditRequest(2, 3, (bad,)))
    assert isinstance(reply, ObjectsFailure) and "stopped following the edits" in reply.message
    assert state.live is None


def test_controller_marks_stale_then_publishes_the_exact_objects(qtbot):
    case = organ_case()
    controller = ObjectsController()
    with qtbot.waitSignal(controller.objects_ready) as loaded:
        controller.load(case)
    assert summary(loaded.args[0].scores) == from_scratch(case) and not loaded.args[0].stale
    with qtbot.waitSignal(controller.objects_stale):
        controller.submit_delta(edit(case, "pred", FALSE_BLOB, 2))
    controller.submit_delta(edit(case, "pred", KIDNEY_GAP, 3))
    assert controller.pending
    with qtbot.waitSignal(controller.objects_ready) as updated:
        controller.flush()
    assert summary(updated.args[0].scores) == from_scratch(case) and not controller.pending
    controller.shutdown()


def test_panel_lists_missed_and_false_objects_largest_first_and_jumps_to_one(qtbot):
    case = organ_case()
    state = ReviewState()
    controller = ObjectsController()
    panel = ObjectsPanel(state, controller)
    qtbot.addWidget(panel)
    state.set_case(case)
    controller.load(case)
    scores = controller.last_update.scores
    unmatched = [o for c in scores.classes for o in (*c.missed, *c.false)]
    assert panel.table.rowCount() == len(unmatched) > 1
    assert [o.voxels for o in panel.objects] == sorted((o.voxels for o in unmatched), reverse=True)
    tumour = next(c for c in scores.classes if c.class_index == 4).counts
    assert f"tumour: TP {tumour.tp} · FP {tumour.fp} · FN {tumour.fn}" in panel.counts_label.text().replace(
        case.labels.name(4), "tumour")
    largest = panel.objects[0]
    assert panel.table.item(0, 1).text() == largest.status
    state.set_axis(1)
    state.highlight_cell((1, 0))
    chosen = []
    panel.object_chosen.connect(chosen.append)
    panel.choose(0)
    assert (state.axis, state.slice_index) == (1, largest.largest_slices[1])
    assert state.highlighted_cell is None and chosen == [largest]   # its own voxels: app.qt.objects_key
    controller.submit_delta(edit(case, "pred", FALSE_BLOB, 2))
    assert "updating" in panel.counts_label.text()
    controller.flush()
    assert "updating" not in panel.counts_label.text()
    assert any(o.status == "false" and o.class_index == 2 and o.voxels == 18 for o in panel.objects)
    controller.shutdown()


def test_window_has_an_objects_dock_that_follows_an_edit(window, qtbot):
    dock = window.docks["objects"]
    assert isinstance(dock, QDockWidget) and dock.widget() is window.objects_panel
    assert dock in window.tabifiedDockWidgets(window.docks["confusion"])
    case = window.state.case
    assert summary(window.objects.last_update.scores) == from_scratch(case)
    before = summary(window.objects.last_update.scores)[1][0][1]
    window.edits.editor.session.active_label = 1
    square = np.array([[2, 20, 0], [2, 20, 3], [2, 23, 3], [2, 23, 0]])
    window.edits.bridge.fill_polygon(square, 0)
    assert window.objects.pending
    window.objects.flush()
    qtbot.waitUntil(lambda: not window.objects.pending, timeout=10_000)
    after = summary(window.objects.last_update.scores)
    assert after == from_scratch(case) and after[1][0][1] == before + 1   # one more false liver object


def test_linked_views_move_the_crosshair_to_the_object(window, qtbot):
    window.views.set_layout("three")
    assert window.views.linked
    panel = window.objects_panel
    panel.choose(0)
    assert window.views.crosshair.point == tuple(panel.objects[0].largest_slices)
