"""Shared helpers for the engine tests."""

import numpy as np
import pytest
from hypothesis import strategies as st

INT_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64]


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


def numpy_confusion(target: np.ndarray, preds: np.ndarray, num_classes: int, ignore_index=None) -> np.ndarray:
    """Independent reference: a plain numpy double loop over class pairs."""
    target = np.asarray(target).ravel().astype(np.int64)
    preds = np.asarray(preds).ravel().astype(np.int64)
    keep = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    cm = np.zeros((num_classes, num_classes), np.int64)
    for i in range(num_classes):
        for j in range(num_classes):
            cm[i, j] = np.count_nonzero(keep & (target == i) & (preds == j))
    return cm


@st.composite
def boxes(draw, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """A non-empty edit box inside a volume of ``shape``: one step-1 slice per axis."""
    box = []
    for n in shape:
        start = draw(st.integers(0, n - 1))
        box.append(slice(start, draw(st.integers(start + 1, n))))
    return tuple(box)
