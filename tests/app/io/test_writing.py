"""save_mask writes the source's grid and pixel type, atomically; write_text_atomic leaves no partial file."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InputError
from app.io import load_case, save_mask, write_text_atomic
from tests.app.io.conftest import blobs, write_volume


@pytest.mark.parametrize("ending", [".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".npy"])
def test_volume_round_trip_keeps_grid_and_pixel_type(tmp_path, rng, ending):
    gt = blobs(rng, (4, 10, 12), 4)
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nrrd", gt.astype(np.int16))
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nrrd")
    edited = case.pred.copy()
    edited[1, 2:5, 3:7] = 3
    written = save_mask(edited, tmp_path / f"edited{ending}", like=case.sources["pred"])
    assert written == tmp_path / f"edited{ending}"
    again = load_case(tmp_path / "gt.nii.gz", written)
    np.testing.assert_array_equal(again.pred, edited)
    if ending == ".npy":
        assert np.load(written).dtype == np.int16
    else:
        assert again.sources["pred"].dtype == "int16"
        assert again.geometry == case.geometry
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("ending", [".png", ".tif", ".bmp"])
def test_2d_round_trip(tmp_path, rng, ending):
    gt = blobs(rng, (14, 16), 4)
    write_volume(tmp_path / f"gt{ending}", gt)
    case = load_case(tmp_path / f"gt{ending}", tmp_path / f"gt{ending}")
    edited = case.pred.copy()
    edited[0, :3] = 2
    save_mask(edited, tmp_path / f"edited{ending}", like=case.sources["pred"])
    np.testing.assert_array_equal(load_case(tmp_path / f"gt{ending}", tmp_path / f"edited{ending}").pred, edited)


def test_labels_that_do_not_fit_the_source_type_are_widened(tmp_path, rng):
    gt = blobs(rng, (3, 8, 8), 3)
    write_volume(tmp_path / "gt.nii.gz", gt)
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "gt.nii.gz")
    edited = case.pred.astype(np.int16)
    edited[0, 0, 0] = 300
    save_mask(edited, tmp_path / "wide.nii.gz", like=case.sources["pred"])
    again = load_case(tmp_path / "gt.nii.gz", tmp_path / "wide.nii.gz")
    assert again.sources["pred"].dtype == "uint16" and int(again.pred.max()) == 300


def test_refusals_leave_no_file(tmp_path, rng):
    gt = blobs(rng, (3, 8, 8), 3)
    write_volume(tmp_path / "gt.nii.gz", gt)
    like = load_case(tmp_path / "gt.nii.gz", tmp_path / "gt.nii.gz").sources["pred"]
    with pytest.raises(InputError, match=r"as JPEG"):
        save_mask(gt, tmp_path / "out.jpg", like=like)
    with pytest.raises(InputError, match=r"has shape"):
        save_mask(gt[:2], tmp_path / "out.nii.gz", like=like)
    with pytest.raises(InputError, match=r"does not exist"):
        save_mask(gt, tmp_path / "nowhere" / "out.nii.gz", like=like)
    with pytest.raises(InputError, match=r"integer labels"):
        save_mask(gt.astype(np.float32), tmp_path / "out.nii.gz", like=like)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.nii.gz"]


def test_write_text_atomic_replaces_and_cleans_up(tmp_path):
    target = tmp_path / "scores.json"
    target.write_text("old")
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.json"]
    with pytest.raises(InputError, match=r"does not exist"):
        write_text_atomic(tmp_path / "missing" / "x.json", "{}")
