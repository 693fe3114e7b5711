"""What showing a case asks of its image is computed where the case is read, not on the GUI thread
(app/qt/image_summary.py, docs/architecture.md §10): after the early read of ``dicelens view`` and after
the ``open`` lane's read, the window, value range and histogram are remembered for that image object."""

import numpy as np
import pytest

from app import window_level
from app.qt.case_loader import read_case
from app.qt.early_start import EarlyCaseRead
from app.qt.image_summary import HISTOGRAM_BINS, histogram_of, summarise_image
from app.window_level import initial_window, value_range
from tests.app.qt.test_main_window import write_case


def expected_summary(image):
    """Window, value range and histogram of a fresh copy (a new object: nothing remembered for it)."""
    copy = image.copy()
    return initial_window(copy), value_range(copy), histogram_of(copy)


def forbid_image_passes(monkeypatch):
    """From here on, any pass over an image for these values fails the test."""
    def fail(*_args, **_kwargs):
        raise AssertionError("computed on the caller's thread instead of where the case was read")

    monkeypatch.setattr(window_level, "_sample", fail)   # auto window (percentiles) and value range
    monkeypatch.setattr(np, "histogram", fail)


def assert_remembered(image, expected, monkeypatch):
    window, spread, (edges, counts) = expected
    forbid_image_passes(monkeypatch)
    assert initial_window(image) == window
    assert value_range(image) == spread
    remembered_edges, remembered_counts = histogram_of(image)
    assert np.array_equal(remembered_edges, edges) and np.array_equal(remembered_counts, counts)


def test_the_early_read_summarises_the_image_before_the_window_asks(tmp_path, monkeypatch):
    paths = write_case(tmp_path)
    case = EarlyCaseRead(paths, False, None).result()
    assert_remembered(case.image, expected_summary(case.image), monkeypatch)


def test_the_open_lanes_read_summarises_the_image(tmp_path, monkeypatch):
    paths = write_case(tmp_path, seed=3)
    case = read_case(paths, False)
    assert_remembered(case.image, expected_summary(case.image), monkeypatch)


def test_the_histogram_matches_numpy_on_the_regular_sample():
    image = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) * 3 - 100
    edges, log_counts = histogram_of(image)
    counts, numpy_edges = np.histogram(image.astype(np.float64).ravel(), bins=HISTOGRAM_BINS,
                                       range=(-100.0, float(image.max())))
    assert np.array_equal(edges, numpy_edges)
    assert np.allclose(np.expm1(log_counts), counts)
    assert log_counts.sum() > 0 and not edges.flags.writeable


class _Case:
    def __init__(self, image, gt):
        self.image, self.gt = image, gt


def test_a_case_without_an_image_or_with_a_colour_picture_is_summarised_as_the_views_ask(monkeypatch):
    summarise_image(_Case(None, np.zeros((2, 3, 4), np.uint8)))   # nothing to do, nothing raised
    colour = np.zeros((2, 3, 4, 3), np.uint8)
    colour[..., 0] = 200
    summarise_image(_Case(colour, np.zeros((2, 3, 4), np.uint8)))
    forbid_image_passes(monkeypatch)
    assert value_range(colour) == 200.0   # remembered; a colour picture has no window or histogram
    with pytest.raises(AssertionError, match="computed on the caller"):
        histogram_of(colour)
