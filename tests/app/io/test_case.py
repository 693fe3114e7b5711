"""load_case: grids must agree (or --resample), masks must be label maps, class scores are checked."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import LabelEntry, LabelTable, count_classes, load_case
from tests.app.io.conftest import blobs, write_volume

SHAPE = (4, 12, 14)


@pytest.fixture
def files(tmp_path, rng):
    gt = blobs(rng, SHAPE, 4)
    pred = np.roll(gt, 1, axis=1)
    return tmp_path, gt, pred, write_volume(tmp_path / "gt.nii.gz", gt), write_volume(tmp_path / "pred.nii.gz", pred)


def test_grid_mismatch_shows_both_geometries_and_suggests_resample(files):
    tmp_path, _, pred, gt_path, _ = files
    shifted = write_volume(tmp_path / "shifted.nii.gz", pred, origin=(0.0, 0.0, 0.0))
    with pytest.raises(InputError) as raised:
        load_case(gt_path, shifted)
    message = str(raised.value)
    assert "origin differs" in message and "--resample" in message
    assert "origin (-12.5, 30, 7.25) mm" in message and "origin (0, 0, 0) mm" in message


def test_resample_puts_the_prediction_on_the_gt_grid_with_nearest_neighbour(files):
    tmp_path, gt, _, gt_path, _ = files
    fine = np.repeat(gt, 2, axis=2)  # same extent, half the x spacing
    fine_path = write_volume(tmp_path / "fine.nii.gz", fine, spacing=(0.35, 0.9, 2.5),
                             origin=(-12.5 - 0.175, 30.0, 7.25))
    case = load_case(gt_path, fine_path, resample=True)
    np.testing.assert_array_equal(case.pred, gt)
    assert any("resampled onto the ground-truth grid" in m for m in case.messages)


def test_tiny_float_differences_in_geometry_are_tolerated(files):
    tmp_path, _, pred, gt_path, _ = files
    nearly = write_volume(tmp_path / "nearly.nii.gz", pred, spacing=(0.7 + 1e-6, 0.9, 2.5),
                          origin=(-12.5 + 1e-5, 30.0, 7.25))
    assert load_case(gt_path, nearly).geometry.spacing[0] == pytest.approx(0.7)


def test_image_on_another_grid_is_refused_without_resample_advice(files):
    tmp_path, _, _, gt_path, pred_path = files
    image = write_volume(tmp_path / "ct.nii.gz", np.zeros((4, 12, 15), np.int16))
    with pytest.raises(InputError, match=r"size differs") as raised:
        load_case(gt_path, pred_path, image=image)
    assert "--resample" not in str(raised.value)


@pytest.mark.parametrize("values,fragment", [
    (np.full(SHAPE, -1024, np.int16), "negative values (minimum -1024)"),
    (np.full(SHAPE, 0.25, np.float32), "non-integral values (e.g. 0.25)"),
    (np.full(SHAPE, np.nan, np.float32), "NaN"),
    (np.full(SHAPE, 70000, np.int32), "label values up to 70000"),
])
def test_masks_that_are_not_label_maps(files, values, fragment):
    tmp_path, _, _, gt_path, _ = files
    bad = write_volume(tmp_path / "bad.nrrd", values)
    with pytest.raises(InputError, match=r"bad.nrrd") as raised:
        load_case(gt_path, bad)
    assert fragment in str(raised.value)


def test_whole_number_floats_are_labels(files):
    tmp_path, gt, _, gt_path, _ = files
    as_float = write_volume(tmp_path / "float.nrrd", gt.astype(np.float32))
    np.testing.assert_array_equal(load_case(gt_path, as_float).pred, gt)


def test_colour_mask_and_jpeg_mask_are_refused(tmp_path, rng):
    gt = blobs(rng, (10, 12), 3)
    write_volume(tmp_path / "gt.png", gt)
    colour = rng.integers(0, 255, (10, 12, 3)).astype(np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(colour, isVector=True), str(tmp_path / "colour.png"))
    with pytest.raises(InputError, match=r"3 values per pixel"):
        load_case(tmp_path / "gt.png", tmp_path / "colour.png")
    write_volume(tmp_path / "pred.jpg", gt)
    with pytest.raises(InputError, match=r"JPEG.*lossy"):
        load_case(tmp_path / "gt.png", tmp_path / "pred.jpg")


def test_missing_file_unknown_ending_and_npy_shape(files):
    tmp_path, gt, _, gt_path, _ = files
    with pytest.raises(InputError, match=r"prediction .*missing.nii.gz' does not exist"):
        load_case(gt_path, tmp_path / "missing.nii.gz")
    (tmp_path / "mask.xyz").write_bytes(b"0")
    with pytest.raises(InputError, match=r"cannot tell the format"):
        load_case(gt_path, tmp_path / "mask.xyz")
    np.save(tmp_path / "small.npy", gt[:2])
    with pytest.raises(InputError, match=r"must have the other mask's shape"):
        load_case(gt_path, tmp_path / "small.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match=r"objects.npy.*Python objects.*allow_pickle=False"):
        load_case(gt_path, tmp_path / "objects.npy")


def test_num_classes_counts_masks_table_and_leaves_out_ignore_index():
    gt = np.array([[[0, 1, 255]]], np.uint8)
    pred = np.array([[[0, 2, 1]]], np.uint8)
    assert count_classes(gt, pred, LabelTable()) == 256
    assert count_classes(gt, pred, LabelTable(), ignore_index=255) == 3
    table = LabelTable([LabelEntry(5, "five"), LabelEntry(255, "unlabelled")])
    assert count_classes(gt, pred, table, ignore_index=255) == 6


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return (shifted / shifted.sum(axis=0, keepdims=True)).astype(np.float32)


def test_probabilities_from_nnunet_npz_and_logits_from_npy(files, rng):
    tmp_path, _, _, gt_path, pred_path = files
    logits = rng.normal(size=(4, *SHAPE)).astype(np.float32)
    np.savez_compressed(tmp_path / "case.npz", probabilities=_softmax(logits))
    case = load_case(gt_path, pred_path, probs=tmp_path / "case.npz")
    assert case.scores.shape == (4, *SHAPE) and case.scores.dtype == np.float32
    assert case.scores_kind == "probs" and case.sources["scores"].format == "NumPy probabilities"
    np.save(tmp_path / "logits.npy", logits.astype(np.float64))
    case = load_case(gt_path, pred_path, logits=tmp_path / "logits.npy")
    assert case.scores_kind == "logits" and case.scores.dtype == np.float64  # the file's dtype, kept


@pytest.mark.parametrize("make,fragment", [
    (lambda p: p[:3], "3 class channels but the masks"),
    (lambda p: np.moveaxis(p, 0, -1), "channels-last"),
    (lambda p: p[:, :2], "expected (C, 4, 12, 14)"),
    (lambda p: np.where(p > 0.9, np.nan, p), "NaN or infinite"),
    (lambda p: p * 3, "outside [0, 1]"),
    (lambda p: p * 0.5, "do not sum to one"),
    (lambda p: (p > 0.5).astype(np.int64), "floating point"),
])
def test_bad_probabilities(files, rng, make, fragment):
    tmp_path, _, _, gt_path, pred_path = files
    probabilities = _softmax(rng.normal(size=(4, *SHAPE)))
    np.save(tmp_path / "probs.npy", make(probabilities))
    with pytest.raises(InputError, match=r"probs.npy") as raised:
        load_case(gt_path, pred_path, probs=tmp_path / "probs.npy")
    assert fragment in str(raised.value)


def test_probs_and_logits_together_are_refused(files):
    _, _, _, gt_path, pred_path = files
    with pytest.raises(InputError, match=r"not both"):
        load_case(gt_path, pred_path, probs="a.npy", logits="b.npy")


def test_npz_with_unexpected_arrays(files):
    tmp_path, _, _, gt_path, pred_path = files
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.zeros(2))
    with pytest.raises(InputError, match=r"'probabilities'"):
        load_case(gt_path, pred_path, probs=tmp_path / "two.npz")


def test_4d_volume_is_refused(files):
    tmp_path, _, _, gt_path, _ = files
    sitk.WriteImage(sitk.Image([14, 12, 4, 2], sitk.sitkUInt8), str(tmp_path / "series4d.nii.gz"))
    with pytest.raises(InputError, match=r"series4d.nii.gz' is 4D \(14x12x4x2\)"):
        load_case(gt_path, tmp_path / "series4d.nii.gz")


def test_label_table_naming_an_absurd_label_is_refused_before_reading(files):
    tmp_path, _, _, gt_path, pred_path = files
    (tmp_path / "names.txt").write_text("1 liver\n70000 everything\n")
    with pytest.raises(InputError, match=r"names label 70000"):
        load_case(gt_path, pred_path, labels=tmp_path / "names.txt")


def test_complex_pixels_are_neither_masks_nor_images(files):
    tmp_path, _, _, gt_path, pred_path = files
    complex_image = sitk.Image([14, 12, 4], sitk.sitkComplexFloat32)
    complex_image.CopyInformation(sitk.ReadImage(str(gt_path)))
    sitk.WriteImage(complex_image, str(tmp_path / "complex.nrrd"))
    with pytest.raises(InputError, match=r"pixel type complex64; a mask must hold integer labels"):
        load_case(gt_path, tmp_path / "complex.nrrd")
    with pytest.raises(InputError, match=r"pixel type complex64; DiceLens shows real-valued"):
        load_case(gt_path, pred_path, image=tmp_path / "complex.nrrd")
