"""Damaged or hostile ``--probs`` / ``--logits`` files end in one InputError, never a numpy traceback."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InputError
from app.io import limits, read_scores

SHAPE = (2, 6, 5)


@pytest.fixture
def probabilities(rng):
    p = rng.random((3, *SHAPE)).astype(np.float32)
    return p / p.sum(axis=0)


def _refused(path, kind="probs") -> str:
    with pytest.raises(InputError) as raised:
        read_scores(path, kind, SHAPE, 3)
    assert path.name in str(raised.value)
    return str(raised.value)


def test_truncated_npz_is_refused(tmp_path, probabilities):
    path = tmp_path / "case.npz"
    np.savez_compressed(path, probabilities=probabilities)
    path.write_bytes(path.read_bytes()[:-40])
    assert "not a readable .npz archive (BadZipFile" in _refused(path)


def test_object_array_is_refused_and_never_unpickled(tmp_path):
    for name, save in (("objects.npy", np.save), ("objects.npz", lambda p, a: np.savez(p, probabilities=a))):
        path = tmp_path / name
        save(path, np.array([{"a": 1}, None], dtype=object))
        message = _refused(path)
        assert "Python objects" in message and "allow_pickle=False" in message


@pytest.mark.parametrize("header", [
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 6, 5)",  # unterminated dict (TokenError)
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 6, 5),)}",  # SyntaxError
    b"{'descr': 'not a dtype', 'fortran_order': False, 'shape': (2,)}",  # ValueError
])
def test_npy_with_a_broken_header_is_refused(tmp_path, header):
    path = tmp_path / "broken.npy"
    padded = header + b" " * (127 - 10 - len(header) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded + bytes(240))
    assert "not a readable .npy array" in _refused(path)


def test_npy_shorter_than_its_header_declares_is_refused(tmp_path, probabilities):
    path = tmp_path / "cut.npy"
    np.save(path, probabilities)
    path.write_bytes(path.read_bytes()[:-16])
    assert "incomplete" in _refused(path)


def test_npy_declaring_an_enormous_array_is_refused_before_allocating(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "")  # no machine-wide default in this test
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 10**9)
    path = tmp_path / "huge.npy"
    with path.open("wb") as stream:
        np.lib.format.write_array_header_1_0(stream, {"descr": "<f4", "fortran_order": False,
                                                       "shape": (10**5, 10**5, 10**5)})
    assert "10,000,000,000 voxels" in _refused(path)  # classes first: the voxels of the other axes


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_probabilities_and_logits_are_refused(tmp_path, probabilities, value):
    probabilities[1, 1, 2, 3] = value
    np.save(tmp_path / "p.npy", probabilities)
    assert "NaN or infinite" in _refused(tmp_path / "p.npy")
    assert "NaN or infinite" in _refused(tmp_path / "p.npy", "logits")
