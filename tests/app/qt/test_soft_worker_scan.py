"""The soft lane's load reads float16 probabilities twice (the soft sums first, then the curves' histograms
and the entropy together; the uncertainty job hands that entropy over), edits made before the histograms
exist reach them, and a ground-truth delta costs one softmax of its box with logits; the figures equal the
slab-by-slab ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dice_engine.soft
import dice_engine.soft_histogram_entropy
import dice_engine.soft_scan
import dice_engine.soft_threshold
from app.model.delta import Delta
from app.qt.soft_worker import (
    CurvesRequest,
    SoftEditRequest,
    SoftLoadRequest,
    SoftWorkerState,
    UncertaintyReply,
    UncertaintyRequest,
    process,
)
from dice_engine.soft import LiveSoftDice
from dice_engine.soft_probabilities import ClassProbabilities
from dice_engine.soft_threshold import ClassHistograms

SHAPE = (4, 9, 8)


def _inputs(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 3, size=SHAPE).astype(np.uint8)
    probabilities = rng.dirichlet(np.ones(3), size=SHAPE).transpose(3, 0, 1, 2).astype(np.float16)
    return gt, (probabilities / probabilities.sum(axis=0, dtype=np.float32)).astype(np.float16)


def _brute_entropy(scores: np.ndarray) -> np.ndarray:
    p = scores.astype(np.float64)
    logs = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.clip(-(p * logs).sum(axis=0) / math.log(p.shape[0]), 0, 1)


def test_a_float16_load_reads_the_probabilities_twice_the_soft_sums_first(monkeypatch):
    gt, probabilities = _inputs()
    passes = []
    scan = dice_engine.soft_scan.scan_probabilities
    combined = dice_engine.soft_histogram_entropy.HistogramEntropyPass

    def counted(*args, **kwargs):
        passes.append({key for key, value in kwargs.items() if value is True})
        return scan(*args, **kwargs)

    class CountedPass(combined):
        def __init__(self, *args, **kwargs):
            passes.append({"histograms", "entropy"})
            super().__init__(*args, **kwargs)

    for module in (dice_engine.soft_scan, dice_engine.soft, dice_engine.soft_threshold):   # every user's name
        monkeypatch.setattr(module, "scan_probabilities", counted)
    monkeypatch.setattr(dice_engine.soft_histogram_entropy, "HistogramEntropyPass", CountedPass)
    state = SoftWorkerState()
    loaded = process(state, SoftLoadRequest(1, gt.copy(), probabilities, False))
    assert passes == [{"sums"}] and loaded.curves_pending and loaded.curves == {}
    general = ClassProbabilities(probabilities.astype(np.float64), from_logits=False)
    general.fixed_point_bits = 24   # the same 2^-24 units, summed slab by slab
    scratch = LiveSoftDice(target=gt, preds=general, smooth=1.0, include_background=False)
    np.testing.assert_array_equal(loaded.result.soft_dice, scratch.result().soft_dice)
    curves = process(state, CurvesRequest(1))
    assert passes[1:] == [{"histograms", "entropy"}] and not curves.curves_pending and state.gt is None
    assert sorted(curves.curves) == [0, 1, 2]
    for label, curve in ClassHistograms(target=gt, preds=general).curves().items():
        np.testing.assert_array_equal(curves.curves[label].dice, curve.dice)
    first = process(state, UncertaintyRequest(1))
    assert len(passes) == 2 and isinstance(first, UncertaintyReply) and state.uncertainty is None
    np.testing.assert_allclose(first.volume, _brute_entropy(probabilities), atol=1e-3)
    slab_by_slab = process(SoftWorkerState(), SoftLoadRequest(1, gt.copy(), probabilities.astype(np.float64),
                                                               False))
    assert slab_by_slab.curves_pending
    general_state = SoftWorkerState()
    process(general_state, SoftLoadRequest(1, gt.copy(), probabilities.astype(np.float64), False))
    again = process(general_state, UncertaintyRequest(1))                 # slab by slab, the same figures
    assert len(passes) == 2
    np.testing.assert_allclose(again.volume, first.volume, atol=1e-3)
    for axis in range(3):
        np.testing.assert_allclose(first.per_slice[axis], again.per_slice[axis], atol=1e-3)


@pytest.mark.parametrize("from_logits", [False, True])
def test_edits_before_the_curves_are_counted_reach_them(from_logits):
    gt, probabilities = _inputs(5)
    scores = np.log(probabilities.astype(np.float32)) if from_logits else probabilities
    state = SoftWorkerState()
    process(state, SoftLoadRequest(1, gt.copy(), scores, from_logits))
    rng = np.random.default_rng(8)
    for index in range(4):
        region = (slice(index, index + 1), slice(1, 6), slice(index, index + 4))
        old = gt[region].copy()
        new = rng.integers(0, 3, old.shape).astype(np.uint8)
        gt[region] = new
        pending = process(state, SoftEditRequest(1, (Delta("gt", region, old, new),)))
        assert pending.curves_pending
    reply = process(state, CurvesRequest(1))
    scratch_state = SoftWorkerState()
    scratch = process(scratch_state, SoftLoadRequest(1, gt.copy(), scores, from_logits))
    scratch_curves = process(scratch_state, CurvesRequest(1))
    np.testing.assert_array_equal(reply.result.soft_dice, scratch.result.soft_dice)
    np.testing.assert_array_equal(state.histograms.inside, scratch_state.histograms.inside)
    np.testing.assert_array_equal(state.histograms.total, scratch_state.histograms.total)
    assert sorted(reply.curves) == sorted(scratch_curves.curves) == [0, 1, 2]
    for label, curve in scratch_curves.curves.items():
        np.testing.assert_array_equal(reply.curves[label].dice, curve.dice)


@pytest.mark.parametrize("deltas", [1, 3])
def test_a_logits_delta_costs_one_softmax_of_its_box(monkeypatch, deltas):
    gt, probabilities = _inputs(4)
    logits = np.log(probabilities.astype(np.float32))
    state = SoftWorkerState()
    process(state, SoftLoadRequest(1, gt.copy(), logits, True))
    process(state, CurvesRequest(1))
    boxes = []
    original = ClassProbabilities.probabilities

    def counted(self, region):
        boxes.append(region)
        return original(self, region)

    monkeypatch.setattr(ClassProbabilities, "probabilities", counted)
    edits = []
    for index in range(deltas):
        region = (slice(index, index + 1), slice(1, 5), slice(2, 6))
        old = gt[region].copy()
        new = np.full_like(old, (index + 1) % 3)
        gt[region] = new
        edits.append(Delta("gt", region, old, new))
    reply = process(state, SoftEditRequest(1, tuple(edits)))
    assert len(boxes) == deltas
    monkeypatch.setattr(ClassProbabilities, "probabilities", original)
    scratch_state = SoftWorkerState()
    process(scratch_state, SoftLoadRequest(1, gt.copy(), logits, True))
    scratch = process(scratch_state, CurvesRequest(1))
    np.testing.assert_array_equal(reply.result.soft_dice, scratch.result.soft_dice)
    assert sorted(scratch.curves) == [0, 1, 2]
    for label, curve in scratch.curves.items():
        np.testing.assert_array_equal(reply.curves[label].dice, curve.dice)


def test_the_curves_pass_pauses_between_its_steps_while_a_drag_holds(monkeypatch):
    """A drag that begins during the curves pass pauses it at its next step (docs/architecture.md §3a), and it
    goes on, with the same figures, when the drag ends."""
    import threading

    import app.qt.jobs
    from app.qt import drag_yield
    from app.qt.soft_worker import LoadProgress

    rng = np.random.default_rng(6)
    shape = (12, 9, 8)
    gt = rng.integers(0, 3, size=shape).astype(np.uint8)
    probabilities = rng.dirichlet(np.ones(3), size=shape).transpose(3, 0, 1, 2).astype(np.float16)
    state = SoftWorkerState()
    process(state, SoftLoadRequest(1, gt.copy(), probabilities, False))
    monkeypatch.setattr(drag_yield, "HOLD_S", 60.0)   # the drag lasts until released below
    checkpoint, held = app.qt.jobs.checkpoint, threading.Event()

    def drag_begins():   # the user starts a drag once the pass has done its first step
        if not held.is_set():
            held.set()
            drag_yield.hold()   # this thread's next Python call pauses
        checkpoint()

    monkeypatch.setattr(app.qt.jobs, "checkpoint", drag_begins)
    progress, replies = LoadProgress(), []
    job = threading.Thread(target=lambda: replies.append(drag_yield.yielding(process)(state,
                                                                                       CurvesRequest(1, progress))))
    try:
        job.start()
        assert held.wait(20)
        job.join(0.5)
        assert job.is_alive() and 0 < progress.done < shape[0]   # paused after its first step
    finally:
        drag_yield.release()
    job.join(20)
    assert not job.is_alive() and progress.done == shape[0]
    scratch = ClassHistograms(target=gt, preds=ClassProbabilities(probabilities.astype(np.float64), from_logits=False))
    for label, curve in scratch.curves().items():
        np.testing.assert_array_equal(replies[0].curves[label].dice, curve.dice)
