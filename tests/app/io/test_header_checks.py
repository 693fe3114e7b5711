"""What the header says is checked before any pixel is trusted: voxel size, non-finite floats, size.

SimpleITK turns a NaN/0/Inf NIfTI ``pixdim`` into 1 mm and NaN/±Inf NIfTI voxels into 0, and reads
whatever volume a header declares; each must be refused with a message naming the file.
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import zipfile

import numpy as np
import pytest
import SimpleITK as sitk

from app.cli import main
from app.errors import InputError
from app.io import limits, load_case, read_scores
from tests.app.io.conftest import blobs, write_dicom_series, write_volume


@pytest.fixture
def gt(rng):
    return blobs(rng, (6, 20, 16), 3)


@pytest.fixture
def good(tmp_path, gt):
    return write_volume(tmp_path / "gt.nii.gz", gt)


def _refused(good, bad, **options) -> str:
    with pytest.raises(InputError) as raised:
        load_case(good, bad, **options)
    assert bad.name in str(raised.value)
    return str(raised.value)


@pytest.mark.parametrize("ending", [".nii", ".nii.gz"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_float_nifti_mask_holding_non_finite_values_is_refused(tmp_path, gt, good, ending, value):
    floats = gt.astype(np.float32)
    floats[2, 5, 5] = value
    bad = write_volume(tmp_path / f"pred{ending}", floats, compress=ending.endswith(".gz"))
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(bad)))[2, 5, 5] == 0  # the danger: read as background
    assert "NaN or infinite" in _refused(good, bad)


def test_float_nifti_mask_of_whole_numbers_is_still_accepted(tmp_path, gt, good):
    case = load_case(good, write_volume(tmp_path / "pred.nii", gt.astype(np.float64), compress=False))
    assert np.array_equal(case.pred, gt)


def _with_pixdim(path, axis: int, value: float):
    """Rewrite pixdim[axis] of an uncompressed or gzip NIfTI-1 file."""
    compressed = path.name.endswith(".gz")
    data = bytearray(gzip.decompress(path.read_bytes()) if compressed else path.read_bytes())
    data[76 + 4 * axis:80 + 4 * axis] = struct.pack("<f", value)
    path.write_bytes(gzip.compress(bytes(data)) if compressed else bytes(data))
    return path


@pytest.mark.parametrize("ending", [".nii", ".nii.gz"])
@pytest.mark.parametrize("value", [float("nan"), 0.0, -2.0, float("inf")])
def test_invalid_nifti_voxel_size_is_refused_not_made_1_mm(tmp_path, gt, good, ending, value):
    bad = _with_pixdim(write_volume(tmp_path / f"pred{ending}", gt, compress=ending.endswith(".gz")), 1, value)
    message = _refused(good, bad)
    assert f"pixdim[1] (x) = {value:g}" in message and "Fix the header" in message


def test_zero_spacing_in_metaimage_and_nrrd_headers_is_refused(tmp_path, gt, good):
    mha = write_volume(tmp_path / "pred.mha", gt, compress=False)
    mha.write_bytes(re.sub(rb"ElementSpacing = [^\n]+", b"ElementSpacing = 0 0.9 2.5", mha.read_bytes()))
    assert "invalid voxel size (0, 0.9, 2.5)" in _refused(good, mha)
    nrrd = write_volume(tmp_path / "pred.nrrd", gt, compress=False)
    nrrd.write_bytes(re.sub(rb"space directions: \([^)]+\)", b"space directions: (0,0,0)", nrrd.read_bytes()))
    assert "invalid" in _refused(good, nrrd)


@pytest.fixture
def small_memory(monkeypatch):
    """1 GB available, whatever this machine has, and no override in the environment."""
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 10**9)
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "")  # no machine-wide default in this test


def _nifti_declaring(path, size_xyz):
    """A tiny ``.nii.gz`` whose header declares ``size_xyz`` voxels (the data holds almost nothing)."""
    header = bytearray(gzip.decompress(write_volume(path, np.zeros((2, 2, 2), np.uint8)).read_bytes())[:352])
    header[40:56] = struct.pack("<8h", 3, *size_xyz, 1, 1, 1, 1)
    path.write_bytes(gzip.compress(bytes(header) + bytes(100)))
    return path


def test_nifti_declaring_a_huge_volume_is_refused_from_its_header(tmp_path, good, small_memory):
    bad = _nifti_declaring(tmp_path / "bomb.nii.gz", (2000, 2000, 1000))
    message = _refused(good, bad)
    assert "declares a volume of 2000x2000x1000 = 4,000,000,000 voxels" in message
    assert "--max-voxels 4000000000" in message


@pytest.mark.parametrize("ending", [".nrrd", ".mha"])
def test_nrrd_and_metaimage_declaring_a_huge_volume_are_refused(tmp_path, good, small_memory, ending):
    path = write_volume(tmp_path / f"bomb{ending}", np.zeros((2, 2, 2), np.uint8), compress=True)
    pattern, replacement = ((rb"sizes: [^\n]+", b"sizes: 2000 2000 1000") if ending == ".nrrd"
                            else (rb"DimSize = [^\n]+", b"DimSize = 2000 2000 1000"))
    path.write_bytes(re.sub(pattern, replacement, path.read_bytes()))
    assert "2000x2000x1000 = 4,000,000,000 voxels" in _refused(good, path)


def test_npy_declaring_1e15_elements_is_refused_before_numpy_allocates(tmp_path, good):
    path = tmp_path / "bomb.npy"
    with path.open("wb") as stream:
        np.lib.format.write_array_header_1_0(
            stream, {"descr": "|u1", "fortran_order": False, "shape": (100000, 100000, 100000)})
        stream.write(bytes(64))
    assert "100000x100000x100000 = 1,000,000,000,000,000 voxels" in _refused(good, path)


def test_max_voxels_overrides_the_limit_both_ways(tmp_path, gt, good, small_memory, monkeypatch):
    pred = write_volume(tmp_path / "pred.nii.gz", gt)

    def refused(**options) -> str:
        with pytest.raises(InputError) as raised:
            load_case(good, pred, **options)
        return str(raised.value)

    assert "the limit set with --max-voxels is 100 voxels" in refused(max_voxels=100)
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "100")
    assert "--max-voxels" in refused()
    assert load_case(good, pred, max_voxels=gt.size).pred.shape == gt.shape
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 10**4)
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "")
    assert "is available (limit " in refused()
    assert load_case(good, pred, max_voxels=10**6).pred.shape == gt.shape


def test_cli_max_voxels_option(tmp_path, gt, good, monkeypatch, capsys):
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "")  # no machine-wide default in this test
    pred = write_volume(tmp_path / "pred.nii.gz", gt)
    assert main(["score", "--gt", str(good), "--pred", str(pred), "--max-voxels", "100"]) == 2
    assert "declares a volume of 16x20x6 = 1,920 voxels" in capsys.readouterr().err
    with pytest.raises(SystemExit) as raised:
        main(["score", "--gt", str(good), "--pred", str(pred), "--max-voxels", "lots"])
    assert raised.value.code == 2


def test_dicom_series_larger_than_the_limit_is_refused_before_reading(tmp_path, gt):
    series = write_dicom_series(tmp_path / "series", gt.astype(np.int16))
    with pytest.raises(InputError, match=r"series.*declares a volume of 16x20x6 = 1,920 voxels"):
        load_case(series, series, max_voxels=1000)


def test_npz_member_declaring_an_enormous_array_is_refused(tmp_path, small_memory):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive, archive.open("probabilities.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                       "shape": (10**4, 10**4, 10**4, 10)})
    with pytest.raises(InputError, match=r"huge.npz' \(array 'probabilities'\) declares a volume"):
        read_scores(path, "probs", (2, 3, 4), 2)


def test_float_image_with_nan_is_still_shown(tmp_path, gt, good):
    intensities = gt.astype(np.float32)
    intensities[0, 0, 0] = np.nan
    case = load_case(good, good, image=write_volume(tmp_path / "t1.nii", intensities, compress=False))
    assert case.image.shape == gt.shape


def test_max_voxels_reaches_report_and_batch_workers_as_an_argument(tmp_path, gt, good, monkeypatch, capsys):
    """``--max-voxels`` travels with the call (not through the environment) to report and batch's workers."""
    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "")  # no machine-wide default in this test
    pred = write_volume(tmp_path / "pred.nii.gz", gt)
    assert main(["report", "--gt", str(good), "--pred", str(pred), "--out", str(tmp_path / "r.pdf"),
                 "--max-voxels", "100"]) == 2
    assert "the limit set with --max-voxels is 100 voxels" in capsys.readouterr().err
    for folder in ("gt", "pred"):
        (tmp_path / folder).mkdir()
    write_volume(tmp_path / "gt" / "case_1.nii.gz", gt)
    write_volume(tmp_path / "pred" / "case_1.nii.gz", gt)
    out = tmp_path / "out"
    assert main(["batch", "--gt-dir", str(tmp_path / "gt"), "--pred-dir", str(tmp_path / "pred"),
                 "--out", str(out), "--jobs", "2", "--max-voxels", "100"]) == 3
    assert "the limit set with --max-voxels is 100 voxels" in (out / "errors.csv").read_text()
    assert limits.MAX_VOXELS_VARIABLE not in os.environ or not os.environ[limits.MAX_VOXELS_VARIABLE]
