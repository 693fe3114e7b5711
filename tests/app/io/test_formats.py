"""Round trips: masks and images written by SimpleITK in every supported format read back exactly."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import load_case
from tests.app.io.conftest import (
    ANISOTROPIC_SPACING,
    ORIGIN,
    blobs,
    write_dicom_series,
    write_palette_png,
    write_volume,
)

VOLUME_ENDINGS = [".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd"]
PLANE_ENDINGS = [".png", ".tif", ".bmp"]


def _pair(rng, shape, num_classes=5):
    gt = blobs(rng, shape, num_classes)
    pred = np.roll(gt, 2, axis=-1)
    return gt, pred


@pytest.mark.parametrize("ending", VOLUME_ENDINGS)
def test_volume_formats_keep_labels_and_anisotropic_geometry(tmp_path, rng, ending):
    gt, pred = _pair(rng, (6, 20, 24))
    direction = (0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    write_volume(tmp_path / f"gt{ending}", gt.astype(np.int16), direction=direction)
    write_volume(tmp_path / f"pred{ending}", pred, direction=direction)
    case = load_case(tmp_path / f"gt{ending}", tmp_path / f"pred{ending}")
    np.testing.assert_array_equal(case.gt, gt)
    np.testing.assert_array_equal(case.pred, pred)
    assert case.gt.dtype == np.uint8 and case.pred.dtype == np.uint8
    assert case.geometry.size == (24, 20, 6)
    np.testing.assert_allclose(case.geometry.spacing, ANISOTROPIC_SPACING, rtol=1e-6)
    np.testing.assert_allclose(case.geometry.origin, ORIGIN, atol=1e-5)
    np.testing.assert_allclose(case.geometry.direction, direction, atol=1e-6)
    assert case.geometry.voxel_volume_ml == pytest.approx(0.7 * 0.9 * 2.5 / 1000)
    assert case.num_classes == 5
    assert case.sources["gt"].dtype == "int16" and len(case.sources["gt"].sha256) == 64


def test_detached_header_data_file_is_part_of_the_hash(tmp_path, rng):
    gt, _ = _pair(rng, (3, 8, 8))
    write_volume(tmp_path / "gt.nhdr", gt)
    write_volume(tmp_path / "pred.nhdr", gt)
    first = load_case(tmp_path / "gt.nhdr", tmp_path / "pred.nhdr").sources["gt"]
    assert len(first.files) == 2
    data_file = tmp_path / first.files[1].split("/")[-1]
    changed = gt.copy()
    changed[0, 0, 0] = 3
    write_volume(tmp_path / "gt.nhdr", changed)
    assert data_file.exists()
    assert load_case(tmp_path / "gt.nhdr", tmp_path / "pred.nhdr").sources["gt"].sha256 != first.sha256


@pytest.mark.parametrize("ending", PLANE_ENDINGS)
def test_2d_formats_give_one_slice(tmp_path, rng, ending):
    gt, pred = _pair(rng, (30, 40))
    write_volume(tmp_path / f"gt{ending}", gt)
    write_volume(tmp_path / f"pred{ending}", pred)
    case = load_case(tmp_path / f"gt{ending}", tmp_path / f"pred{ending}")
    assert case.gt.shape == (1, 30, 40)
    np.testing.assert_array_equal(case.gt[0], gt)
    np.testing.assert_array_equal(case.pred[0], pred)
    assert case.geometry.size == (40, 30, 1)


def test_npy_masks_take_the_other_masks_grid(tmp_path, rng):
    gt, pred = _pair(rng, (4, 10, 12))
    write_volume(tmp_path / "gt.nii.gz", gt)
    np.save(tmp_path / "pred.npy", pred.astype(np.int64))
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.npy")
    np.testing.assert_array_equal(case.pred, pred)
    np.testing.assert_allclose(case.geometry.spacing, ANISOTROPIC_SPACING, rtol=1e-6)
    assert any("grid of 'gt.nii.gz'" in message for message in case.messages)


def test_2d_npy_pair_with_bool_and_float_masks(tmp_path, rng):
    gt = rng.integers(0, 2, (9, 11)).astype(bool)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "pred.npy", (~gt).astype(np.float32))
    case = load_case(tmp_path / "gt.npy", tmp_path / "pred.npy")
    assert case.gt.shape == (1, 9, 11) and case.gt.dtype == np.uint8
    np.testing.assert_array_equal(case.pred[0], (~gt).astype(np.uint8))
    assert case.geometry.spacing == (1.0, 1.0, 1.0)


def test_dicom_series_directory(tmp_path, rng):
    gt, pred = _pair(rng, (5, 16, 18))
    write_dicom_series(tmp_path / "gt_dicom", gt.astype(np.uint16))
    write_volume(tmp_path / "pred.nii.gz", pred)
    case = load_case(tmp_path / "gt_dicom", tmp_path / "pred.nii.gz")
    np.testing.assert_array_equal(case.gt, gt)
    np.testing.assert_allclose(case.geometry.spacing, ANISOTROPIC_SPACING, rtol=1e-4)
    assert case.sources["gt"].format == "DICOM series"
    assert "(5 files)" in case.sources["gt"].details


def test_dicom_directory_with_two_series_reads_the_largest_and_says_so(tmp_path, rng):
    gt, _ = _pair(rng, (5, 16, 18))
    write_dicom_series(tmp_path / "mixed", gt.astype(np.uint16), series_uid="1.2.3.4.5")
    write_dicom_series(tmp_path / "mixed_small", gt[:3].astype(np.uint16), series_uid="1.2.3.4.6")
    for file in (tmp_path / "mixed_small").iterdir():
        file.rename(tmp_path / "mixed" / f"small_{file.name}")
    write_volume(tmp_path / "pred.nii.gz", gt)
    case = load_case(tmp_path / "mixed", tmp_path / "pred.nii.gz")
    assert "1.2.3.4.5" in case.sources["gt"].details
    assert any("2 DICOM series" in m and "1.2.3.4.6" in m for m in case.messages)
    chosen = load_case(f"{tmp_path / 'mixed'}::1.2.3.4.6", tmp_path / "pred.nii.gz", resample=True)
    assert chosen.sources["gt"].details.startswith("series 1.2.3.4.6 (3 files)")
    with pytest.raises(InputError, match=r"no DICOM series '9.9'"):
        load_case(f"{tmp_path / 'mixed'}::9.9", tmp_path / "pred.nii.gz")


def test_palette_png_gives_indices_and_colours(tmp_path, rng):
    indices = rng.integers(0, 4, (12, 15))
    palette = [(0, 0, 0), (250, 10, 10), (10, 250, 10), (10, 10, 250), (7, 7, 7)]
    write_palette_png(tmp_path / "gt.png", indices, palette)
    write_volume(tmp_path / "pred.png", indices.astype(np.uint8))
    case = load_case(tmp_path / "gt.png", tmp_path / "pred.png")
    np.testing.assert_array_equal(case.gt[0], indices)
    assert case.labels.color(2) == (10, 250, 10)
    assert case.num_classes == 4  # unused palette entries do not add classes


def test_palette_png_with_duplicate_colours_is_refused(tmp_path, rng):
    write_palette_png(tmp_path / "gt.png", np.array([[0, 1], [2, 1]]), [(0, 0, 0), (9, 9, 9), (9, 9, 9)])
    write_volume(tmp_path / "pred.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(InputError, match=r"same colour"):
        load_case(tmp_path / "gt.png", tmp_path / "pred.png")


def test_grey_mask_stored_as_rgb_is_accepted(tmp_path, rng):
    gt, _ = _pair(rng, (10, 12))
    rgb = sitk.GetImageFromArray(np.stack([gt] * 3, axis=-1), isVector=True)
    sitk.WriteImage(rgb, str(tmp_path / "gt.png"))
    write_volume(tmp_path / "pred.png", gt)
    np.testing.assert_array_equal(load_case(tmp_path / "gt.png", tmp_path / "pred.png").gt[0], gt)


@pytest.mark.parametrize("ending", [".png", ".jpg", ".tif"])
def test_2d_rgb_images_for_display(tmp_path, rng, ending):
    gt, pred = _pair(rng, (16, 20))
    write_volume(tmp_path / "gt.png", gt)
    write_volume(tmp_path / "pred.png", pred)
    rgb = rng.integers(0, 256, (16, 20, 3)).astype(np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(tmp_path / f"image{ending}"))
    case = load_case(tmp_path / "gt.png", tmp_path / "pred.png", image=tmp_path / f"image{ending}")
    assert case.image.shape == (1, 16, 20, 3) and case.image.dtype == np.uint8
    if ending != ".jpg":
        np.testing.assert_array_equal(case.image[0], rgb)


@pytest.mark.parametrize("ending", [".nii.gz", ".mha", ".nrrd"])
def test_scalar_volume_image_keeps_its_values(tmp_path, rng, ending):
    gt, pred = _pair(rng, (4, 10, 12))
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nii.gz", pred)
    ct = rng.integers(-1024, 2000, (4, 10, 12)).astype(np.int16)
    write_volume(tmp_path / f"ct{ending}", ct)
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz", image=tmp_path / f"ct{ending}")
    np.testing.assert_array_equal(case.image, ct)


def test_labels_of_256_and_more_use_int16(tmp_path, rng):
    gt = rng.integers(0, 300, (2, 30, 30)).astype(np.uint16)
    write_volume(tmp_path / "gt.nrrd", gt)
    write_volume(tmp_path / "pred.nrrd", gt[:, ::-1].copy())
    case = load_case(tmp_path / "gt.nrrd", tmp_path / "pred.nrrd")
    assert case.gt.dtype == np.int16
    assert case.num_classes == int(gt.max()) + 1
    np.testing.assert_array_equal(case.gt, gt)


def test_dicom_series_with_a_missing_slice_is_refused(tmp_path, rng):
    gt, _ = _pair(rng, (6, 16, 18))
    write_dicom_series(tmp_path / "series", gt.astype(np.uint16))
    write_volume(tmp_path / "pred.nii.gz", gt[:5])
    (tmp_path / "series" / "slice003.dcm").unlink()
    with pytest.raises(InputError, match=r"not evenly spaced \(slices 3 and 4 are 5 mm apart"):
        load_case(tmp_path / "series", tmp_path / "pred.nii.gz")


def test_single_dicom_file_reads_its_whole_series(tmp_path, rng):
    gt, _ = _pair(rng, (4, 16, 18))
    write_dicom_series(tmp_path / "series", gt.astype(np.uint16))
    write_volume(tmp_path / "pred.nii.gz", gt)
    case = load_case(tmp_path / "series" / "slice002.dcm", tmp_path / "pred.nii.gz")
    np.testing.assert_array_equal(case.gt, gt)


def test_arrays_share_the_read_buffer_yet_are_writable_and_outlive_the_image(tmp_path, rng):
    gt, pred = _pair(rng, (3, 10, 12))
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nii.gz", pred)
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz")
    gc.collect()
    assert case.pred.flags.writeable and case.pred.flags.c_contiguous
    case.pred[0, 0, :] = 4
    np.testing.assert_array_equal(case.pred[1:], pred[1:])
    np.testing.assert_array_equal(case.gt, gt)
