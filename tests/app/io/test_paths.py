"""Input paths are checked before anything opens them: no hang on a FIFO, no abort on non-UTF-8 names.

Every test that could hang runs the load in a daemon thread and fails after a few seconds instead
of blocking the suite.
"""

from __future__ import annotations

import os
import socket
import threading

import numpy as np
import pytest

from app.errors import InputError
from app.io import load_case, read_label_table, read_scores
from app.io.paths import split_series_spec
from tests.app.io.conftest import blobs, write_dicom_series, write_volume


@pytest.fixture
def case_files(tmp_path, rng):
    gt = blobs(rng, (4, 12, 10), 3)
    return tmp_path, write_volume(tmp_path / "gt.nii.gz", gt), gt


def _error_within(seconds: float, call, fifo) -> str:
    """The InputError message of ``call()``, failing (not hanging) when it does not return in time."""
    outcome: list = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        with open(fifo, "wb"):  # unblock the thread so it can end
            pass
        pytest.fail(f"the call did not return within {seconds} s (it opened the FIFO)")
    assert isinstance(outcome[0], InputError), outcome[0]
    return str(outcome[0])


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.nii.gz"
    os.mkfifo(path)
    return path


def test_fifo_as_mask_image_or_label_table_is_refused_without_hanging(case_files, fifo):
    _, gt_path, gt = case_files
    assert "is a named pipe (FIFO)" in _error_within(10, lambda: load_case(gt_path, fifo), fifo)
    assert "named pipe" in _error_within(10, lambda: load_case(gt_path, gt_path, image=fifo), fifo)
    assert "label table" in _error_within(10, lambda: read_label_table(fifo), fifo)
    assert "--probs" in _error_within(10, lambda: read_scores(fifo, "probs", gt.shape, 3), fifo)


def test_fifo_inside_a_dicom_directory_is_refused_without_hanging(tmp_path, rng):
    series = write_dicom_series(tmp_path / "series", blobs(rng, (4, 12, 10), 3).astype(np.int16))
    fifo = series / "slice999.dcm"
    os.mkfifo(fifo)
    message = _error_within(10, lambda: load_case(series, series), fifo)
    assert "slice999.dcm" in message and "named pipe" in message


def test_socket_and_device_are_refused(case_files):
    tmp_path, gt_path, _ = case_files
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s.nii"))
        with pytest.raises(InputError, match="is a socket"):
            load_case(gt_path, tmp_path / "s.nii")
    with pytest.raises(InputError, match="character device"):
        read_label_table("/dev/null")


def test_directory_given_where_a_file_is_needed(case_files):
    tmp_path, _, gt = case_files
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(InputError, match="is a directory, not a regular file"):
        read_label_table(tmp_path / "folder.txt")
    (tmp_path / "scores.npy").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        read_scores(tmp_path / "scores.npy", "probs", gt.shape, 3)


def test_non_utf8_path_is_refused_before_simpleitk_sees_it(case_files):
    tmp_path, gt_path, _ = case_files
    raw_name = os.fsencode(tmp_path) + b"/pred\xff\xfe.nii.gz"
    with open(raw_name, "wb") as stream:
        stream.write(gt_path.read_bytes())
    with pytest.raises(InputError, match="not valid UTF-8") as raised:
        load_case(gt_path, os.fsdecode(raw_name))
    assert "pred\N{REPLACEMENT CHARACTER}\N{REPLACEMENT CHARACTER}.nii.gz" in str(raised.value)
    str(raised.value).encode("utf-8")  # the message itself can always be printed and written


def test_a_file_whose_name_contains_two_colons_is_read_literally(case_files):
    tmp_path, gt_path, gt = case_files
    odd = write_volume(tmp_path / "pred::v2.nii.gz", gt)
    assert split_series_spec(str(odd)) == (str(odd), None)
    assert np.array_equal(load_case(gt_path, odd).pred, gt)
    assert split_series_spec(str(tmp_path / "dicom::1.2.3")) == (str(tmp_path / "dicom"), "1.2.3")


def test_fifo_as_the_data_file_of_a_detached_header_is_refused_without_hanging(case_files):
    tmp_path, gt_path, gt = case_files
    header = write_volume(tmp_path / "pred.nhdr", gt, compress=False)
    data_file = next(tmp_path.glob("pred.raw*"))
    data_file.unlink()
    os.mkfifo(data_file)
    message = _error_within(10, lambda: load_case(gt_path, header), data_file)
    assert "its data file" in message and "named pipe" in message


def test_non_utf8_file_name_inside_a_dicom_directory_is_refused(tmp_path, rng):
    series = write_dicom_series(tmp_path / "series", blobs(rng, (4, 12, 10), 3).astype(np.int16))
    first = sorted(series.iterdir())[0]
    os.rename(first, os.fsencode(series) + b"/slice\xff.dcm")
    with pytest.raises(InputError, match=r"series' holds a file whose name is not valid UTF-8"):
        load_case(series, series)
