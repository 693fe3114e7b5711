"""Saving a NIfTI mask keeps the source header's transform codes, intent, description and units.

The source files are written by hand (a NIfTI-1 header packed field by field), not by SimpleITK,
whose own writer always says "scanner anatomical" (codes 1), which is what was wrong."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import SimpleITK as sitk

from app.io import load_case, save_mask
from app.io.nifti_header import HEADER_SIZE, read_header

MNI = 4
AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2.0, 0, -126], [0, 0, 2.5, -72]])  # RAS, as in MNI152 templates
SHAPE_ZYX = (4, 5, 6)


def nifti_bytes(data_zyx, qform_code, sform_code, order="<", units=2):
    """A NIfTI-1 ``.nii`` file: ``data_zyx`` uint8 on :data:`AFFINE` (qform: 180° about y, qfac -1)."""
    header = bytearray(HEADER_SIZE)
    z, y, x = data_zyx.shape
    struct.pack_into(order + "i", header, 0, HEADER_SIZE)
    struct.pack_into(order + "8h", header, 40, 3, x, y, z, 1, 1, 1, 1)
    struct.pack_into(order + "3fh", header, 56, 0.0, 0.0, 0.0, 1002)            # NIFTI_INTENT_LABEL
    struct.pack_into(order + "hh", header, 70, 2, 8)                            # uint8
    struct.pack_into(order + "8f", header, 76, -1.0, 2.0, 2.0, 2.5, 1.0, 0, 0, 0)
    struct.pack_into(order + "3f", header, 108, 352.0, 1.0, 0.0)                # vox_offset, slope, inter
    header[123] = units
    header[148:148 + 26] = b"MNI152NLin2009cAsym labels"
    header[228:228 + 7] = b"atlas.x"
    struct.pack_into(order + "hh", header, 252, qform_code, sform_code)
    struct.pack_into(order + "6f", header, 256, 0.0, 1.0, 0.0, 90.0, -126.0, -72.0)
    for row in range(3):
        struct.pack_into(order + "4f", header, 280 + 16 * row, *AFFINE[row])
    header[328:328 + 6] = b"labels"
    header[344:348] = b"n+1\0"
    values = data_zyx.astype(np.uint8).tobytes()
    return bytes(header) + b"\0" * 4 + values


def fields(header):
    order = "<" if struct.unpack_from("<i", header, 0)[0] == HEADER_SIZE else ">"
    return {
        "codes": struct.unpack_from(order + "hh", header, 252),
        "intent": struct.unpack_from(order + "3fh", header, 56),
        "intent_name": header[328:344], "descrip": header[148:228], "aux_file": header[228:252],
        "units": header[123],
        "srow": np.array(struct.unpack_from(order + "12f", header, 280)).reshape(3, 4),
    }


@pytest.mark.parametrize(("qform", "sform", "order", "ending"), [
    (MNI, MNI, "<", ".nii.gz"), (0, MNI, "<", ".nii.gz"), (1, MNI, "<", ".nii"), (MNI, 2, ">", ".nii.gz"),
])
def test_saving_an_mni_mask_keeps_its_codes_affine_and_voxels(tmp_path, qform, sform, order, ending):
    rng = np.random.default_rng(5)
    gt = rng.integers(0, 4, SHAPE_ZYX).astype(np.uint8)
    raw = nifti_bytes(gt, qform, sform, order)
    for name in ("gt", "pred"):
        path = tmp_path / f"{name}{ending}"
        path.write_bytes(gzip.compress(raw) if ending.endswith(".gz") else raw)
    case = load_case(tmp_path / f"gt{ending}", tmp_path / f"pred{ending}")
    edited = case.pred.copy()
    edited[1, 2:4, 1:5] = 3
    source = read_header(tmp_path / f"pred{ending}")
    written = save_mask(edited, tmp_path / f"pred{ending}", like=case.sources["pred"])   # in place
    saved = read_header(written)
    before, after = fields(source), fields(saved)
    assert after["codes"] == (qform, sform)
    for key in ("intent", "intent_name", "descrip", "aux_file", "units"):
        assert after[key] == before[key], key
    np.testing.assert_allclose(after["srow"], AFFINE, atol=1e-5)
    again = load_case(tmp_path / f"gt{ending}", written)
    np.testing.assert_array_equal(again.pred, edited)
    assert again.geometry == case.geometry
    original, reread = sitk.ReadImage(str(tmp_path / f"gt{ending}")), sitk.ReadImage(str(written))
    assert reread.GetOrigin() == pytest.approx(original.GetOrigin())
    assert reread.GetDirection() == pytest.approx(original.GetDirection())
    assert reread.GetSpacing() == pytest.approx(original.GetSpacing())


def test_a_spatial_unit_simpleitk_converted_is_not_copied_back(tmp_path):
    rng = np.random.default_rng(6)
    gt = rng.integers(0, 4, SHAPE_ZYX).astype(np.uint8)
    raw = nifti_bytes(gt, MNI, MNI, units=3 | 16)        # microns and milliseconds
    for name in ("gt", "pred"):
        (tmp_path / f"{name}.nii").write_bytes(raw)
    case = load_case(tmp_path / "gt.nii", tmp_path / "pred.nii")
    written = save_mask(case.pred, tmp_path / "out.nii", like=case.sources["pred"])
    assert fields(read_header(written))["units"] == 2 | 16     # SimpleITK's mm, the source's time unit
    assert load_case(tmp_path / "gt.nii", written).geometry == case.geometry
