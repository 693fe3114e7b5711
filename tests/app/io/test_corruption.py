"""Corrupt input never becomes numbers: truncated files, random bytes, headers promising more data.

SimpleITK alone reads a truncated ``.nii.gz`` or ``.jpg`` "successfully" with wrong pixels and drops
the missing pages of a cut TIFF; each case here must end in an InputError naming the file.
"""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import load_case
from tests.app.io.conftest import blobs, write_volume


@pytest.fixture
def pair(tmp_path, rng):
    gt = blobs(rng, (8, 24, 20), 4)
    gt[gt == 0] = rng.integers(0, 4, int((gt == 0).sum()))  # noisy data compresses poorly
    return tmp_path, gt


def _cut(path, fraction=0.6):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _load_bad(tmp_path, bad, gt):
    good = write_volume(tmp_path / "good.nii.gz", gt)
    with pytest.raises(InputError) as raised:
        load_case(good, bad)
    assert bad.name in str(raised.value)
    return str(raised.value)


@pytest.mark.parametrize("ending,compress", [(".nii.gz", True), (".nii", False), (".nrrd", True),
                                             (".nrrd", False), (".mha", True), (".mha", False)])
def test_truncated_volume_is_refused(pair, ending, compress):
    tmp_path, gt = pair
    bad = _cut(write_volume(tmp_path / f"pred{ending}", gt, compress=compress))
    message = _load_bad(tmp_path, bad, gt)
    assert "damaged" in message or "incomplete" in message


def test_truncated_nii_gz_is_what_simpleitk_alone_reads_silently(pair):
    tmp_path, gt = pair
    bad = _cut(write_volume(tmp_path / "pred.nii.gz", gt))
    silently_read = sitk.GetArrayFromImage(sitk.ReadImage(str(bad)))  # the danger this layer guards
    assert silently_read.shape == gt.shape
    assert "incomplete" in _load_bad(tmp_path, bad, gt)


def test_nifti_header_promising_more_slices_than_the_file_holds(pair):
    tmp_path, gt = pair
    path = write_volume(tmp_path / "pred.nii", gt, compress=False)
    data = bytearray(path.read_bytes())
    data[46:48] = np.int16(gt.shape[0] * 2).tobytes()  # dim[3] (z) of the NIfTI-1 header
    path.write_bytes(bytes(data))
    assert "promises" in _load_bad(tmp_path, path, gt)


def test_gzip_nifti_header_promising_more_than_a_complete_stream_holds(pair):
    tmp_path, gt = pair
    path = write_volume(tmp_path / "pred.nii.gz", gt)
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[46:48] = np.int16(gt.shape[0] + 3).tobytes()
    path.write_bytes(gzip.compress(bytes(data)))  # a valid gzip file, just too short for its header
    assert "holds only" in _load_bad(tmp_path, path, gt)


def test_nrrd_header_promising_more_than_the_raw_data(pair):
    tmp_path, gt = pair
    path = write_volume(tmp_path / "pred.nrrd", gt, compress=False)
    data = path.read_bytes()
    sizes = f"sizes: {gt.shape[2]} {gt.shape[1]} {gt.shape[0]}".encode()
    path.write_bytes(data.replace(sizes, f"sizes: {gt.shape[2]} {gt.shape[1]} {gt.shape[0] + 1}".encode()))
    assert "promises" in _load_bad(tmp_path, path, gt)


def test_detached_header_whose_data_file_is_missing(pair):
    tmp_path, gt = pair
    path = write_volume(tmp_path / "pred.nhdr", gt)
    for data_file in tmp_path.glob("pred.raw*"):
        data_file.unlink()
    message = _load_bad(tmp_path, path, gt)
    assert "does not exist" in message or "damaged" in message


@pytest.mark.parametrize("ending", [".nii.gz", ".nii", ".nrrd", ".mha", ".png", ".tif", ".bmp"])
def test_random_bytes_with_a_medical_extension(pair, ending):
    tmp_path, gt = pair
    bad = tmp_path / f"pred{ending}"
    bad.write_bytes(np.random.default_rng(5).bytes(4000))
    message = _load_bad(tmp_path, bad, gt)
    assert "not a readable" in message or "damaged" in message


def test_random_bytes_in_a_dicom_directory(pair):
    tmp_path, gt = pair
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "a.dcm").write_bytes(os.urandom(3000))
    with pytest.raises(InputError, match=r"holds no DICOM series"):
        load_case(write_volume(tmp_path / "good.nii.gz", gt), tmp_path / "series")


def test_truncated_png_mask(pair):
    tmp_path, gt = pair
    bad = _cut(write_volume(tmp_path / "pred.png", gt[0]), 0.7)
    write_volume(tmp_path / "gt.png", gt[0])
    with pytest.raises(InputError, match=r"pred.png"):
        load_case(tmp_path / "gt.png", bad)


def test_truncated_bmp_mask(pair):
    tmp_path, gt = pair
    bad = _cut(write_volume(tmp_path / "pred.bmp", gt[0]), 0.7)
    write_volume(tmp_path / "gt.bmp", gt[0])
    with pytest.raises(InputError, match=r"pred.bmp"):
        load_case(tmp_path / "gt.bmp", bad)


def test_truncated_multipage_tiff_is_not_read_as_fewer_slices(pair):
    tmp_path, gt = pair
    bad = _cut(write_volume(tmp_path / "pred.tif", gt), 0.7)
    assert sitk.ReadImage(str(bad)).GetDepth() < gt.shape[0]  # what SimpleITK alone does
    write_volume(tmp_path / "gt.tif", gt)
    with pytest.raises(InputError, match=r"pred.tif.*damaged or incomplete"):
        load_case(tmp_path / "gt.tif", bad)


def test_truncated_jpeg_image(pair, rng):
    tmp_path, gt = pair
    write_volume(tmp_path / "gt.png", gt[0])
    photo = rng.integers(0, 255, gt[0].shape).astype(np.uint8)
    bad = _cut(write_volume(tmp_path / "photo.jpg", photo), 0.8)
    with pytest.raises(InputError, match=r"photo.jpg.*end-of-image marker"):
        load_case(tmp_path / "gt.png", tmp_path / "gt.png", image=bad)


def test_bit_flip_inside_a_gzip_stream(pair):
    tmp_path, gt = pair
    path = write_volume(tmp_path / "pred.nii.gz", gt)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    message = _load_bad(tmp_path, path, gt)
    assert "damaged" in message or "not a readable" in message


@pytest.mark.parametrize("ending", [".nii", ".nrrd", ".mha"])
def test_header_without_any_data(pair, ending):
    tmp_path, gt = pair
    path = write_volume(tmp_path / f"pred{ending}", gt, compress=False)
    data = path.read_bytes()
    header_ends = {".nii": 352, ".nrrd": data.find(b"\n\n") + 2, ".mha": data.find(b"LOCAL\n") + 6}
    header_end = header_ends[ending]
    path.write_bytes(data[:header_end])
    assert "promises" in _load_bad(tmp_path, path, gt)


def test_empty_file_and_empty_directory(pair):
    tmp_path, gt = pair
    (tmp_path / "pred.nii.gz").write_bytes(b"")
    assert "not a readable NIfTI file" in _load_bad(tmp_path, tmp_path / "pred.nii.gz", gt)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match=r"nothing' is an empty directory"):
        load_case(tmp_path / "good.nii.gz", tmp_path / "nothing")
