"""The checks' pass at open (dice_engine.soft_checks) equals float64 brute force on every figure, for probabilities and
logits, whatever the dtype, the strides, the chunking and the number of threads; ties and the decisive level's
edges included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dice_engine import soft_checks
from dice_engine.soft_checks import check_scores
from dice_engine.soft_probabilities import ClassProbabilities, disagreement, predict

SHAPE = (5, 9, 8)


def _brute(scores: np.ndarray, given: np.ndarray | None, from_logits: bool, decisive: float = 0.9,
           threshold: float = 0.5):
    """Prediction and disagreement counts in float64 numpy: softmax / sigmoid, argmax (ties to the lowest)."""
    x = scores.astype(np.float64)
    if from_logits and x.shape[0] == 1:
        with np.errstate(over="ignore"):
            p = 1 / (1 + np.exp(-x))
    elif from_logits:
        with np.errstate(over="ignore"):
            e = np.exp(x - x.max(axis=0))
        p = e / e.sum(axis=0)
    else:
        p = x
    if p.shape[0] == 1:
        derived, top = (p[0] >= threshold).astype(np.int64), np.maximum(p[0], 1 - p[0])
    else:
        derived, top = p.argmax(axis=0), p.max(axis=0)
    counts = None
    if given is not None:
        is_decisive, differs = top >= decisive, derived != given
        counts = int(is_decisive.sum()), int((is_decisive & differs).sum()), int(differs.sum())
    return derived, counts


@pytest.fixture(params=[(1 << 17, 1), (SHAPE[2], 3), (1, 2)], ids=["one-chunk", "row-chunks-3-threads", "one-row"])
def chunking(request, monkeypatch):
    voxels, workers = request.param
    monkeypatch.setattr(soft_checks, "CHUNK_VOXELS", voxels)
    return workers


def _probabilities(seed: int, channels: int, dtype) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(max(channels, 2), *SHAPE))
    probabilities = torch.softmax(torch.from_numpy(logits), 0).numpy()[-channels:].astype(dtype)
    probabilities[:, 1, 2, 3] = probabilities[0, 1, 2, 3]      # a tie: the lowest class
    return probabilities


def _decisive_edges(scores: np.ndarray, dtype) -> None:
    """Rows of voxels whose largest probability is the last value below 0.9, and the first at or above it."""
    channels = scores.shape[0]
    edge = dtype(0.9)
    above = np.nextafter(edge, dtype(1))
    below = edge if float(edge) < 0.9 else np.nextafter(edge, dtype(0))
    for row, top in ((0, below), (1, above)):
        scores[:, 2, row, :] = (1 - top) / max(1, channels - 1)
        scores[-1, 2, row, :4] = top
    if channels == 1:
        scores[0, 3, 0, :3] = [1 - 0.9, dtype(0.5), np.nextafter(dtype(0.5), dtype(0))]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 4])
def test_probabilities_equal_float64_brute_force(channels, dtype, chunking):
    scores = _probabilities(1, channels, dtype)
    _decisive_edges(scores, dtype)
    given = np.random.default_rng(2).integers(0, max(channels, 2), SHAPE).astype(np.uint8)
    derived, counts = _brute(scores, given, from_logits=False)
    given[:2] = derived[:2]                                    # agreeing slices too
    derived, counts = _brute(scores, given, from_logits=False)
    assert counts[0] > 0 and 0 < counts[1] < counts[2]
    scan = check_scores(scores, argmax=True, agree_with=given, workers=chunking)
    assert scan.disagreement == counts
    assert (scan.low, scan.high, scan.first_nonfinite_slice) == (scores.min(), scores.max(), None)
    working = np.promote_types(dtype, np.float32)
    assert scan.worst_sum_error == (0.0 if channels == 1 else
                                    float(np.abs(scores.astype(working).sum(axis=0) - 1).max()))
    if channels > 1:
        np.testing.assert_array_equal(scan.prediction, derived)
        assert scan.prediction.dtype == np.uint8 and scan.prediction[1, 2, 3] == 0
    else:
        assert scan.prediction is None
    assert disagreement(ClassProbabilities(scores.astype(np.float64), from_logits=False), given) == counts


def _logits(seed: int, channels: int, dtype) -> np.ndarray:
    """Logits with ties, near ties, the decisive level's edges, large magnitudes, -0.0 and subnormals."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(channels, *SHAPE)).astype(dtype)
    ln9 = np.log(9.0)
    if channels == 1:
        logits[0, 0, 0, :8] = [ln9, -ln9, np.nextafter(dtype(ln9), dtype(0)), np.nextafter(dtype(-ln9), dtype(0)),
                               0.0, -0.0, -1e-30, 1e-30]
        logits[0, 1, 0, :2] = [np.finfo(dtype).max, np.finfo(dtype).min]
        return logits
    logits[:, :2] = -80.0                                      # slices 0 and 1: set row by row
    logits[:, 0, 0, :] = 0.0                                   # every class tied: class 0
    logits[:, 0, 1, :] = -0.0
    logits[0, 0, 1, :2] = 0.0                                  # -0.0 and 0.0 are equal
    logits[:2, 0, 2, :] = [[0.0], [1e-30]]                     # float64 rounds the softmax to a tie: class 0
    logits[:2, 0, 3, :] = [[0.0], [np.finfo(dtype).smallest_subnormal]]   # one float16 ulp: no tie in float64
    logits[:2, 0, 4, :] = [[5.0], [np.nextafter(dtype(5.0), dtype(6.0))]]
                                                               # two classes: p = 0.9 at a logit gap of ln 9
    for column, gap in enumerate(np.linspace(ln9 - 1e-3, ln9 + 1e-3, SHAPE[2])):
        logits[0, 1, 0, column] = dtype(gap)
    logits[:2, 1, 1, :] = [[dtype(ln9)], [0.0]]
    logits[:2, 1, 2, :] = [[np.nextafter(dtype(ln9), dtype(0))], [0.0]]
    logits[:2, 1, 3, :] = [[np.nextafter(dtype(ln9), dtype(9))], [0.0]]
    logits[:, 2, 0, :] = np.finfo(dtype).min                   # large magnitudes
    logits[1, 2, 0, :] = np.finfo(dtype).max
    logits[:, 2, 1, :] = np.finfo(dtype).max
    return logits


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 2, 5])
def test_logits_equal_float64_brute_force_and_the_slab_path(channels, dtype, chunking):
    logits = _logits(3, channels, dtype)
    derived, _ = _brute(logits, None, from_logits=True)
    given = np.where(np.random.default_rng(4).random(SHAPE) < 0.3,
                     np.random.default_rng(5).integers(0, max(channels, 2), SHAPE), derived).astype(np.uint8)
    derived, counts = _brute(logits, given, from_logits=True)
    assert counts[0] > 0 and 0 < counts[1] < counts[2]
    scan = check_scores(logits, from_logits=True, argmax=True, agree_with=given, workers=chunking)
    assert scan.disagreement == counts
    slab_path = ClassProbabilities(logits, from_logits=True)
    assert not slab_path.scannable and disagreement(slab_path, given) == counts
    assert (scan.low, scan.high, scan.worst_sum_error) == (logits.min(), logits.max(), 0.0)
    if channels > 1:
        np.testing.assert_array_equal(scan.prediction, derived)
        np.testing.assert_array_equal(scan.prediction, predict(slab_path))
        one_ulp_apart = 0 if dtype != np.float16 else 1   # float32/64's smallest subnormal: a float64 tie
        assert scan.prediction[0, 2, 0] == 0 and scan.prediction[0, 3, 0] == one_ulp_apart
        assert scan.prediction[0, 0, 0] == scan.prediction[0, 1, 0] == 0
    else:
        assert scan.prediction is None


@pytest.mark.parametrize("channels", [2, 14])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_logits_at_the_decisive_level_decide_as_float64(dtype, channels, chunking):
    """Consecutive floats around ln 9, the logit gap where a two-class softmax is 0.9: some are decided wrongly
    by the float32 sum alone, so these voxels must go through float64."""
    down, up = [dtype(np.log(9.0))], [dtype(np.log(9.0))]
    for _ in range(300):
        down.append(np.nextafter(down[-1], dtype(0)))
        up.append(np.nextafter(up[-1], dtype(9)))
    gaps = np.unique(np.array(down + up, dtype))
    logits = np.full((channels, 1, 1, gaps.size), -80.0, dtype)
    logits[0, 0, 0], logits[1, 0, 0] = gaps, 0.0
    given = np.ones(logits.shape[1:], np.uint8)            # differs from class 0 everywhere
    _, counts = _brute(logits, given, from_logits=True)
    if dtype == np.float32:
        exps = np.exp(logits[:, 0, 0] - logits[:, 0, 0].max(axis=0))
        assert counts[0] != np.count_nonzero(exps.sum(axis=0) <= np.float32(1 / 0.9))   # float32 alone errs
    scan = check_scores(logits, from_logits=True, agree_with=given, workers=chunking)
    assert scan.disagreement == counts and 0 < counts[0] < gaps.size


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_the_range_and_the_first_non_finite_slice_from_the_bits(dtype, chunking):
    scores = _probabilities(6, 3, dtype)
    scores[0, 2, 4, 4] = -0.25
    scan = check_scores(scores, workers=chunking)
    assert (scan.low, scan.high, scan.first_nonfinite_slice) == (-0.25, scores.max(), None)
    assert check_scores(-np.abs(scores) - 1, workers=chunking).high == float(-np.abs(scores).min() - 1)
    zeros = np.zeros_like(scores)
    zeros[1, 1] = -0.0
    scan = check_scores(zeros, workers=chunking)
    assert (scan.low, scan.high) == (0.0, 0.0)
    for value, z in ((np.nan, 3), (-np.inf, 2), (np.inf, 4), (-np.nan, 1)):
        broken = scores.copy()
        broken[2, z, 8, 7] = value
        broken[1, 4, 0, 0] = np.inf
        scan = check_scores(broken, workers=chunking)
        assert scan.first_nonfinite_slice == z and np.isnan(scan.low) and np.isnan(scan.high)


@pytest.mark.parametrize("from_logits", [False, True])
def test_read_only_and_class_last_layouts(from_logits, chunking):
    scores = _logits(7, 4, np.float16) if from_logits else _probabilities(7, 4, np.float16)
    given = np.random.default_rng(8).integers(0, 4, SHAPE).astype(np.int32)
    expected = check_scores(scores, from_logits=from_logits, argmax=True, agree_with=given, workers=chunking)
    class_last = np.moveaxis(np.ascontiguousarray(np.moveaxis(scores, 0, -1)), -1, 0)   # as a 4D NIfTI reads
    read_only = scores.copy()
    read_only.setflags(write=False)
    for layout in (class_last, read_only):
        scan = check_scores(layout, from_logits=from_logits, argmax=True, agree_with=given, workers=chunking)
        assert (scan.low, scan.high, scan.worst_sum_error, scan.disagreement) == \
            (expected.low, expected.high, expected.worst_sum_error, expected.disagreement)
        np.testing.assert_array_equal(scan.prediction, expected.prediction)


def test_bad_requests_are_value_errors():
    with pytest.raises(ValueError, match="agree_with shape"):
        check_scores(_probabilities(9, 3, np.float16), agree_with=np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="float16/32/64"):
        check_scores(np.zeros((3, *SHAPE), np.int16))


_VALUES = {np.float16: [0.0, -0.0, 1e-30, 5.96e-8, 1.0, 2.197, 2.1973, 2.2, -2.197, 5.0, 5.004, -80.0, 60000.0],
           np.float32: [0.0, -0.0, 1e-30, 1e-38, 1.0, float(np.log(9.0)), 2.1972246, 2.1972249, -2.1972246, 5.0,
                        5.0000005, -80.0, 3e38, -3e38]}


@st.composite
def _logit_volumes(draw):
    dtype = draw(st.sampled_from([np.float16, np.float32]))
    channels = draw(st.integers(1, 5))
    shape = (channels, draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    pool = [dtype(v) for v in _VALUES[dtype]]
    elements = st.one_of(st.sampled_from(pool), st.floats(-12, 12, width=16 if dtype == np.float16 else 32))
    logits = draw(hnp.arrays(dtype, shape, elements=elements))
    given = draw(hnp.arrays(np.uint8, shape[1:], elements=st.integers(0, max(channels, 2) - 1)))
    return logits, given


@settings(max_examples=150, deadline=None)
@given(_logit_volumes(), st.sampled_from([0.5, 0.9, 0.99]))
def test_any_logits_decide_as_float64(volume, decisive):
    logits, given = volume
    derived, counts = _brute(logits, given, from_logits=True, decisive=decisive)
    scan = check_scores(logits, from_logits=True, argmax=True, agree_with=given, decisive=decisive, workers=2)
    assert scan.disagreement == counts
    if logits.shape[0] > 1:
        np.testing.assert_array_equal(scan.prediction, derived)


@pytest.mark.parametrize("torch_threads", [1, 2])
def test_float16_sums_by_one_copy_or_in_blocks(torch_threads, monkeypatch):
    """A serial torch (the window's) converts a chunk in one call; otherwise in blocks below torch's grain."""
    threads = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        monkeypatch.setattr(soft_checks, "TORCH_GRAIN", 64)   # several blocks per chunk
        scores = _probabilities(10, 5, np.float16)
        scores[:, 3, 4] *= np.float16(0.99)
        scan = check_scores(scores, workers=2)
    finally:
        torch.set_num_threads(threads)
    assert scan.worst_sum_error == float(np.abs(scores.astype(np.float32).sum(axis=0) - 1).max()) > 1e-3
