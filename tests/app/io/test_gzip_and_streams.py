"""Compressed payloads are decompressed end to end, so every checksum in them is checked.

SimpleITK decompresses only the bytes the header asks for: a ``.nii.gz`` cut short under a forged
gzip trailer, or one with a flipped bit that still inflates, is read "successfully" with wrong voxels,
and a MetaImage whose zlib stream holds more than its voxels makes ITK print "Uncompress failed" and
return whatever the buffer held. Each must end in an InputError naming the file.
"""

from __future__ import annotations

import bz2
import gzip
import re
import struct
import zlib

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import load_case
from app.io.streams import DamagedStream, verify_bzip2, verify_gzip, verify_zlib
from tests.app.io.conftest import blobs, write_volume


@pytest.fixture
def gt(rng):
    return blobs(rng, (8, 24, 20), 4)


@pytest.fixture
def noisy(rng):
    """Big enough (~130 kB of gzip) that SimpleITK stops inflating before the trailer."""
    labels = blobs(rng, (32, 128, 128), 4)
    labels[labels == 0] = rng.integers(0, 4, int((labels == 0).sum()))
    return labels


def _refused(tmp_path, gt, bad) -> str:
    good = write_volume(tmp_path / "good.nii.gz", gt)
    with pytest.raises(InputError) as raised:
        load_case(good, bad)
    assert bad.name in str(raised.value)
    return str(raised.value)


def test_truncated_nii_gz_with_a_forged_trailer_is_refused(tmp_path, gt):
    path = write_volume(tmp_path / "pred.nii.gz", gt)
    whole = gzip.decompress(path.read_bytes())
    data = path.read_bytes()
    forged = data[: int(len(data) * 0.6)] + struct.pack("<II", zlib.crc32(whole), len(whole))
    path.write_bytes(forged)
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(path))).shape == gt.shape  # the danger: read silently
    message = _refused(tmp_path, gt, path)
    assert "damaged" in message


def _flip_a_bit_that_still_inflates(data: bytes, keep: int = 0) -> bytes:
    """A copy of gzip ``data`` with one bit flipped that inflates to the right length but fails the CRC.

    The first ``keep`` uncompressed bytes (a header) come out unchanged, so only voxels differ.
    """
    assert data[3] == 0  # no optional gzip header fields: the deflate data starts at byte 10
    original = zlib.decompress(data[10:], wbits=-15)
    for position in range(len(data) // 2, len(data) - 8):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            try:
                inflated = zlib.decompressobj(wbits=-15).decompress(bytes(flipped[10:]))
            except zlib.error:
                continue
            if len(inflated) == len(original) and inflated[:keep] == original[:keep] and inflated != original:
                return bytes(flipped)
    raise AssertionError("no such bit in this stream")


def test_flipped_bit_that_still_inflates_is_caught_by_the_crc(tmp_path, noisy):
    gt = noisy
    path = write_volume(tmp_path / "pred.nii.gz", gt)
    path.write_bytes(_flip_a_bit_that_still_inflates(path.read_bytes(), keep=352))
    silently_read = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))  # SimpleITK never reaches the CRC
    assert silently_read.shape == gt.shape and not np.array_equal(silently_read, gt)
    message = _refused(tmp_path, gt, path)
    assert "damaged" in message and "incorrect data check" in message


def test_gzip_nrrd_payload_is_checked_end_to_end(tmp_path, noisy):
    gt = noisy
    path = write_volume(tmp_path / "pred.nrrd", gt, compress=True)
    data = path.read_bytes()
    start = data.find(b"\n\n") + 2
    payload = _flip_a_bit_that_still_inflates(data[start:])
    path.write_bytes(data[:start] + payload)
    assert "damaged" in _refused(tmp_path, gt, path)


def test_trailing_garbage_after_the_gzip_data_is_refused(tmp_path, gt):
    path = write_volume(tmp_path / "pred.nii.gz", gt)
    path.write_bytes(path.read_bytes() + b"leftover bytes")
    assert "follow the end of the gzip data" in _refused(tmp_path, gt, path)


def test_concatenated_members_and_nul_padding_are_accepted_each_member_checked(tmp_path, gt):
    whole = gzip.decompress(write_volume(tmp_path / "plain.nii.gz", gt).read_bytes())
    half = len(whole) // 2
    path = tmp_path / "members.nii.gz"
    path.write_bytes(gzip.compress(whole[:half]) + gzip.compress(whole[half:]) + b"\0" * 16)
    case = load_case(tmp_path / "plain.nii.gz", path)
    assert np.array_equal(case.pred, gt)
    second = gzip.compress(whole[half:])
    broken = bytearray(second)
    broken[-5] ^= 1  # the second member's CRC
    path.write_bytes(gzip.compress(whole[:half]) + bytes(broken))
    with pytest.raises(DamagedStream, match="incorrect data check"):
        verify_gzip(path, 0, len(whole))


def test_a_small_gzip_that_inflates_far_beyond_its_header_is_stopped(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(64 << 20)))
    with pytest.raises(DamagedStream, match="holds more than"):
        verify_gzip(path, 0, 1000)


def _metaimage_with_payload(tmp_path, gt, payload: bytes, size_field: int):
    write_volume(tmp_path / "template.mha", gt, compress=True)
    raw = (tmp_path / "template.mha").read_bytes()
    header_end = raw.find(b"ElementDataFile = LOCAL\n") + len(b"ElementDataFile = LOCAL\n")
    header = re.sub(rb"CompressedDataSize = \d+", b"CompressedDataSize = %d" % size_field, raw[:header_end])
    path = tmp_path / "pred.mha"
    path.write_bytes(header + payload)
    return path


def test_metaimage_whose_stream_holds_more_than_the_voxels_is_refused(tmp_path, gt):
    payload = zlib.compress(gt.tobytes() + b"\x07" * 50)
    path = _metaimage_with_payload(tmp_path, gt, payload, len(payload))
    assert "extra bytes after the voxels" in _refused(tmp_path, gt, path)


def test_metaimage_with_bytes_after_its_compressed_data_is_refused(tmp_path, gt):
    payload = zlib.compress(gt.tobytes())
    path = _metaimage_with_payload(tmp_path, gt, payload + b"junk", len(payload))
    assert "extra bytes after the data" in _refused(tmp_path, gt, path)
    with pytest.raises(DamagedStream, match="bytes follow the end"):
        verify_zlib(path, path.stat().st_size - len(payload) - 4, None, gt.nbytes)


def test_intact_compressed_metaimage_and_nrrd_still_read(tmp_path, gt):
    for name in ("pred.mha", "pred.nrrd"):
        case = load_case(write_volume(tmp_path / "gt.nii.gz", gt), write_volume(tmp_path / name, gt))
        assert np.array_equal(case.pred, gt)


def test_bzip2_streams_are_checked_to_their_end(tmp_path):
    data = bytes(range(256)) * 4000
    path = tmp_path / "payload.bz2"
    path.write_bytes(bz2.compress(data[:500000]) + bz2.compress(data[500000:]))
    assert verify_bzip2(path, 0, len(data)) == len(data)
    path.write_bytes(bz2.compress(data) + b"not bzip2")
    with pytest.raises(DamagedStream, match="follow the end of the bzip2 data"):
        verify_bzip2(path, 0, len(data))
    path.write_bytes(bz2.compress(data)[:-30])
    with pytest.raises(DamagedStream, match="stops early"):
        verify_bzip2(path, 0, len(data))
