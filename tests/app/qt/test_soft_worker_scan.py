"""The soft lane's load reads float16 probabilities once (sums, histograms and entropy in one pass), and a
ground-truth delta costs one softmax of its box with logits; the figures equal the slab-by-slab ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dice_engine.soft_scan
from app.model.delta import Delta
from app.qt.soft_worker import (
    SoftEditRequest,
    SoftLoadRequest,
    SoftWorkerState,
    UncertaintyReply,
    UncertaintyRequest,
    process,
)
from dice_engine.soft_probabilities import ClassProbabilities

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


def test_a_float16_load_reads_the_probabilities_once_and_keeps_the_entropy(monkeypatch):
    gt, probabilities = _inputs()
    passes = []
    scan = dice_engine.soft_scan.scan_probabilities

    def counted(*args, **kwargs):
        passes.append(kwargs)
        return scan(*args, **kwargs)

    monkeypatch.setattr(dice_engine.soft_scan, "scan_probabilities", counted)
    state = SoftWorkerState()
    loaded = process(state, SoftLoadRequest(1, gt.copy(), probabilities, False))
    assert len(passes) == 1 and all(passes[0][key] for key in ("sums", "histograms", "entropy"))
    assert state.entropy is not None
    first = process(state, UncertaintyRequest(1))
    assert isinstance(first, UncertaintyReply) and state.entropy is None   # handed over, not kept twice
    np.testing.assert_allclose(first.volume, _brute_entropy(probabilities), atol=1e-3)
    again = process(state, UncertaintyRequest(1))                           # slab by slab, the same figures
    np.testing.assert_allclose(again.volume, first.volume, atol=1e-3)
    for axis in range(3):
        np.testing.assert_allclose(first.per_slice[axis], again.per_slice[axis], atol=1e-3)
    assert sorted(loaded.curves) == [0, 1, 2]


@pytest.mark.parametrize("deltas", [1, 3])
def test_a_logits_delta_costs_one_softmax_of_its_box(monkeypatch, deltas):
    gt, probabilities = _inputs(4)
    logits = np.log(probabilities.astype(np.float32))
    state = SoftWorkerState()
    process(state, SoftLoadRequest(1, gt.copy(), logits, True))
    assert state.entropy is None   # logits: no single pass (softmax first); the uncertainty job computes it
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
    scratch = process(SoftWorkerState(), SoftLoadRequest(1, gt.copy(), logits, True))
    np.testing.assert_array_equal(reply.result.soft_dice, scratch.result.soft_dice)
    for label, curve in scratch.curves.items():
        np.testing.assert_array_equal(reply.curves[label].dice, curve.dice)
