"""The objects lane's memory budget: a case whose object volumes would not fit turns the lane off with a message."""

from __future__ import annotations

import numpy as np

from app.io import limits
from app.qt.objects_controller import ObjectsController
from app.qt.objects_worker import ObjectsFailure, ObjectsLoadRequest, ObjectsReply, ObjectsWorkerState, process
from dice_engine.live_objects import LiveObjects, score_cache_bytes
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_objects_dock import FALSE_BLOB, edit


def test_the_budget_counts_what_live_objects_keeps():
    case = organ_case()
    live = LiveObjects(target=case.gt, preds=case.pred, num_classes=case.num_classes)
    tables = live._tables
    kept = sum(a.nbytes for group in (tables.masks, tables.labels) for a in group.values())
    assert kept == case.gt.size * limits.OBJECTS_BYTES_PER_VOXEL   # uint8 masks, uint16 ids
    assert limits.objects_memory_bytes(case.gt.size) >= kept
    wide = LiveObjects(target=case.gt.astype(np.int16), preds=case.pred.astype(np.int16), num_classes=6)
    kept_wide = sum(a.nbytes for group in (wide._tables.masks, wide._tables.labels) for a in group.values())
    assert limits.objects_memory_bytes(case.gt.size, mask_bytes=2) >= kept_wide > kept


def test_objects_memory_problem_says_what_is_needed_and_available(monkeypatch):
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 10**9)
    assert limits.objects_memory_problem(300 * 512 * 512) is None   # ~0.6 GB of 1 GB
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 3 * 10**8)
    message = limits.objects_memory_problem(300 * 512 * 512)
    assert message.startswith("Objects are not counted for this case") and "needs about 0.7 GB" in message
    assert "0.6 GB for its volumes, 64.0 MB for the object masks kept for outlines" in message
    assert "0.3 GB is available" in message
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: None)
    assert limits.objects_memory_problem(10**12) is None   # unknown: try


def test_a_case_that_does_not_fit_turns_the_lane_off_with_the_message(monkeypatch, qtbot):
    case = organ_case()
    needed = limits.objects_memory_bytes(case.gt.size) + limits.OBJECT_MASKS_KEPT_BYTES + score_cache_bytes(
        target=case.gt, preds=case.pred)
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: needed - 1)
    state = ObjectsWorkerState()
    reply = process(state, ObjectsLoadRequest(1, 1, case.gt, case.pred, case.geometry.spacing_zyx, 6))
    assert isinstance(reply, ObjectsFailure) and "Objects are not counted" in reply.message and state.live is None
    controller = ObjectsController()
    with qtbot.waitSignal(controller.objects_ready) as loaded:
        controller.load(case)
    assert loaded.args[0].scores is None and "needs about" in loaded.args[0].message
    controller.submit_delta(edit(case, "pred", FALSE_BLOB, 2))   # ignored: nothing to follow
    assert not controller.pending
    needed = limits.objects_memory_bytes(case.gt.size) + limits.OBJECT_MASKS_KEPT_BYTES + score_cache_bytes(
        target=case.gt, preds=case.pred)  # edited
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: needed)
    assert isinstance(process(state, ObjectsLoadRequest(2, 1, case.gt, case.pred, case.geometry.spacing_zyx, 6)),
                      ObjectsReply)
    controller.shutdown()


def test_the_score_cache_counts_in_the_lane_budget(monkeypatch):
    """Volumes that fit but a score cache that does not: the lane stays off, and the message says why."""
    case = organ_case()
    volumes = limits.objects_memory_bytes(case.gt.size) + limits.OBJECT_MASKS_KEPT_BYTES
    cache = score_cache_bytes(target=case.gt, preds=case.pred)
    bound = score_cache_bytes(target=case.gt, preds=case.pred, exact=False)
    assert 0 < cache < bound   # organs: most voxels are inside, so the exact count is well under the bound
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: volumes + cache - 1)
    message = limits.objects_lane_memory_problem(case.gt, case.pred)
    assert message.startswith("Objects are not counted for this case") and "for the object scores kept" in message
    state = ObjectsWorkerState()
    reply = process(state, ObjectsLoadRequest(1, 1, case.gt, case.pred, case.geometry.spacing_zyx, 6))
    assert isinstance(reply, ObjectsFailure) and reply.message == message and state.live is None
    # Between the exact figure and the non-zero bound: counted exactly, and it fits.
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: volumes + cache)
    assert limits.objects_lane_memory_problem(case.gt, case.pred) is None
    assert isinstance(process(state, ObjectsLoadRequest(2, 1, case.gt, case.pred, case.geometry.spacing_zyx, 6)),
                      ObjectsReply)


def test_the_exact_count_runs_only_when_the_bound_does_not_fit(monkeypatch):
    import dice_engine.live_objects as live_objects

    case = organ_case()
    bound = score_cache_bytes(target=case.gt, preds=case.pred, exact=False)

    def no_exact_count(labels):
        raise AssertionError("the non-zero bound fitted: no exact count was needed")

    monkeypatch.setattr(live_objects, "face_boundary_voxels", no_exact_count)
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: limits.objects_memory_bytes(case.gt.size)
                        + limits.OBJECT_MASKS_KEPT_BYTES + bound)
    assert limits.objects_lane_memory_problem(case.gt, case.pred) is None
