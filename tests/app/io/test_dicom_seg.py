"""DICOM SEG as ground truth or prediction: read onto the referenced series, exactly, or refused."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InputError
from app.io import load_case
from app.scoring import score_case
from tests.app.io.conftest import write_volume
from tests.app.io.dicom_builders import SPACING, write_ct_series, write_seg

SHAPE = (5, 6, 8)  # (z, y, x)


@pytest.fixture
def series(tmp_path, rng):
    ct = rng.integers(-1000, 1500, SHAPE)
    return tmp_path / "ct", write_ct_series(tmp_path / "ct", ct)


def _label_map(rng, classes: int) -> np.ndarray:
    return rng.integers(0, classes + 1, SHAPE).astype(np.uint8)


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.stack([labels == c for c in range(1, classes + 1)])


def test_binary_seg_reads_the_known_mask_exactly_with_names_and_colours(tmp_path, rng, series):
    directory, datasets = series
    gt, pred = _label_map(rng, 3), _label_map(rng, 3)
    write_seg(tmp_path / "gt_seg", datasets, _one_hot(gt, 3), ["liver", "spleen", "kidney"],
              colors=[(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    write_seg(tmp_path / "pred.bin", datasets, _one_hot(pred, 3), ["liver", "spleen", "kidney"])
    case = load_case(tmp_path / "gt_seg", tmp_path / "pred.bin", image=directory)
    np.testing.assert_array_equal(case.gt, gt)
    np.testing.assert_array_equal(case.pred, pred)
    assert [case.labels.name(i) for i in (0, 1, 2, 3)] == ["background", "liver", "spleen", "kidney"]
    assert case.labels.color(1) == (255, 0, 0) and case.labels.color(3) == (0, 0, 255)
    assert case.sources["gt"].format == "DICOM SEG"
    assert case.geometry.spacing == pytest.approx(SPACING)


def test_scores_equal_the_nifti_path(tmp_path, rng, series):
    directory, datasets = series
    gt, pred = _label_map(rng, 2), _label_map(rng, 2)
    write_seg(tmp_path / "gt.dcm", datasets, _one_hot(gt, 2), ["a", "b"])
    write_seg(tmp_path / "pred.dcm", datasets, _one_hot(pred, 2), ["a", "b"])
    from_seg = score_case(load_case(tmp_path / "gt.dcm", tmp_path / "pred.dcm", image=directory))
    write_volume(tmp_path / "gt.nii.gz", gt, spacing=SPACING)
    write_volume(tmp_path / "pred.nii.gz", pred, spacing=SPACING)
    from_nifti = score_case(load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz"))
    assert from_seg.confusion_matrix == from_nifti.confusion_matrix
    assert from_seg.dice_mean_foreground == from_nifti.dice_mean_foreground
    assert [c.dice for c in from_seg.classes] == [c.dice for c in from_nifti.classes]


def test_frames_in_reverse_order_land_on_their_slices(tmp_path, rng, series):
    directory, datasets = series
    gt = _label_map(rng, 2)
    write_seg(tmp_path / "reversed", datasets, _one_hot(gt, 2), ["a", "b"], reverse_frames=True)
    case = load_case(tmp_path / "reversed", tmp_path / "reversed", image=directory)
    np.testing.assert_array_equal(case.gt, gt)


def test_fractional_seg_is_thresholded_at_one_half_and_says_so(tmp_path, rng, series):
    directory, datasets = series
    values = rng.random((1, *SHAPE)).astype(np.float32)
    write_seg(tmp_path / "frac", datasets, values, ["lesion"], fractional=True)
    case = load_case(tmp_path / "frac", tmp_path / "frac", image=directory)
    stored = np.round(values[0] * 255) / 255  # highdicom stores 0..255
    np.testing.assert_array_equal(case.gt, (stored >= 0.5).astype(np.uint8))
    assert any("at least 0.5" in message for message in case.messages)
    strict = load_case(tmp_path / "frac", tmp_path / "frac", image=directory, seg_threshold=0.9)
    np.testing.assert_array_equal(strict.gt, (stored >= 0.9).astype(np.uint8))


def test_overlapping_segments_later_wins_with_a_count(tmp_path, series):
    directory, datasets = series
    masks = np.zeros((2, *SHAPE), dtype=bool)
    masks[0, 1:3, 1:4, 1:5] = True  # 2 * 3 * 4 = 24 voxels
    masks[1, 2:4, 2:5, 3:7] = True  # overlaps segment 1 on 1 * 2 * 2 = 4 voxels
    write_seg(tmp_path / "overlap", datasets, masks, ["outer", "inner"])
    case = load_case(tmp_path / "overlap", tmp_path / "overlap", image=directory)
    assert np.count_nonzero(case.gt == 2) == masks[1].sum()
    assert np.count_nonzero(case.gt == 1) == masks[0].sum() - 4
    assert any("later segment wins" in m and "'inner': 4 voxels" in m for m in case.messages)


def test_label_table_maps_segment_names_so_two_tools_line_up(tmp_path, rng, series):
    directory, datasets = series
    gt = _label_map(rng, 2)
    write_seg(tmp_path / "gt", datasets, _one_hot(gt, 2), ["Liver", "Spleen"])
    # another tool numbered the same structures the other way round
    write_seg(tmp_path / "pred", datasets, np.stack([gt == 2, gt == 1]), ["spleen", "liver "])
    unmatched = load_case(tmp_path / "gt", tmp_path / "pred", image=directory)
    assert any("1: 'Liver' / 'spleen'" in m and "--labels" in m for m in unmatched.messages)
    (tmp_path / "labels.txt").write_text("0 background\n1 liver\n2 spleen\n")
    case = load_case(tmp_path / "gt", tmp_path / "pred", image=directory, labels=tmp_path / "labels.txt")
    np.testing.assert_array_equal(case.pred, gt)
    (tmp_path / "short.txt").write_text("1 liver\n")
    with pytest.raises(InputError, match=r"'Spleen' are not in the label table"):
        load_case(tmp_path / "gt", tmp_path / "pred", image=directory, labels=tmp_path / "short.txt")


def test_seg_of_another_series_is_refused_naming_the_uids(tmp_path, rng, series):
    directory, _datasets = series
    other = write_ct_series(tmp_path / "other", rng.integers(0, 9, SHAPE), series_uid="1.2.3.999",
                            frame_of_reference_uid="1.2.3.998")
    write_seg(tmp_path / "seg", other, _one_hot(_label_map(rng, 1), 1), ["a"])
    with pytest.raises(InputError, match=r"Frame of Reference 1\.2\.3\.998.*1\.2\.826\.0\.1\.3680043\.10\.511\.2"):
        load_case(tmp_path / "seg", tmp_path / "seg", image=directory)
    same_frame = write_ct_series(tmp_path / "same_frame", rng.integers(0, 9, SHAPE), series_uid="1.2.3.777")
    write_seg(tmp_path / "seg2", same_frame, _one_hot(_label_map(rng, 1), 1), ["a"])
    with pytest.raises(InputError, match=r"not in the image series .*SOP Instance UID 1\.2\.3\.777\.1"):
        load_case(tmp_path / "seg2", tmp_path / "seg2", image=directory)


def test_seg_on_another_grid_of_the_same_frame_is_refused(tmp_path, rng, series):
    directory, _datasets = series
    shifted = write_ct_series(tmp_path / "shifted", rng.integers(0, 9, SHAPE), origin=(-20.0, 15.0, 101.0))
    # same SOP Instance UIDs (the builder's default series), but the SEG's frames lie 1 mm away
    write_seg(tmp_path / "seg", shifted, _one_hot(_label_map(rng, 1), 1), ["a"])
    with pytest.raises(InputError, match="does not lie on the grid of the image series"):
        load_case(tmp_path / "seg", tmp_path / "seg", image=directory)


def test_seg_without_its_series_is_refused(tmp_path, rng, series):
    _directory, datasets = series
    write_seg(tmp_path / "seg", datasets, _one_hot(_label_map(rng, 1), 1), ["a"])
    with pytest.raises(InputError, match="pass the DICOM series it references with --image"):
        load_case(tmp_path / "seg", tmp_path / "seg")
    write_volume(tmp_path / "img.nii.gz", np.zeros(SHAPE, np.int16), spacing=SPACING)
    with pytest.raises(InputError, match="is NIfTI, but a DICOM SEG"):
        load_case(tmp_path / "seg", tmp_path / "seg", image=tmp_path / "img.nii.gz")


@pytest.mark.parametrize("cut", [3, 40, 2000])
def test_truncated_seg_is_refused(tmp_path, rng, series, cut):
    directory, datasets = series
    path = write_seg(tmp_path / "seg", datasets, _one_hot(_label_map(rng, 1), 1), ["a"])
    (tmp_path / "cut").write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(InputError, match=r"could not be read as a DICOM SEG|no pixel data|is truncated|header cannot"):
        load_case(tmp_path / "cut", tmp_path / "seg", image=directory)


def test_non_segmentation_dicom_is_refused(tmp_path, rng, series):
    directory, datasets = series
    write_seg(tmp_path / "seg", datasets, _one_hot(_label_map(rng, 1), 1), ["a"])
    (tmp_path / "slice").write_bytes((directory / "ct000.dcm").read_bytes())
    with pytest.raises(InputError, match="'CT Image Storage' object, not a segmentation"):
        load_case(tmp_path / "slice", tmp_path / "seg", image=directory)


def test_cli_scores_a_seg_pair_and_refuses_one_without_its_series_with_exit_2(tmp_path, rng, series, capsys):
    from app.cli import main

    directory, datasets = series
    gt = _label_map(rng, 2)
    write_seg(tmp_path / "gt", datasets, _one_hot(gt, 2), ["a", "b"])
    assert main(["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "gt"), "--image", str(directory),
                 "--json", str(tmp_path / "out.json")]) == 0
    assert main(["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "gt"),
                 "--json", str(tmp_path / "refused.json")]) == 2
    err = capsys.readouterr().err
    assert "DICOM SEG object; pass the DICOM series it references with --image" in err
    assert "Traceback" not in err and not (tmp_path / "refused.json").exists()


def test_cli_seg_threshold_option(tmp_path, rng, series, capsys):
    import json

    from app.cli import main

    directory, datasets = series
    values = rng.random((1, *SHAPE)).astype(np.float32)
    write_seg(tmp_path / "frac", datasets, values, ["lesion"], fractional=True)
    stored = np.round(values[0] * 255) / 255
    write_seg(tmp_path / "at_09", datasets, (stored >= 0.9)[np.newaxis], ["lesion"])
    common = ["score", "--gt", str(tmp_path / "at_09"), "--pred", str(tmp_path / "frac"), "--image", str(directory)]
    assert main([*common, "--seg-threshold", "0.9", "--json", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["dice_mean_foreground"] == 1.0
    assert main([*common, "--json", str(tmp_path / "d.json")]) == 0  # default 0.5: more voxels predicted
    assert json.loads((tmp_path / "d.json").read_text())["dice_mean_foreground"] < 1.0
    with pytest.raises(SystemExit):
        main([*common, "--seg-threshold", "0", "--json", str(tmp_path / "x.json")])
    assert "must be a number in (0, 1]" in capsys.readouterr().err


def test_seg_declaring_more_voxels_than_the_limit_is_refused_before_decoding(tmp_path, rng, series):
    from app.io.dicom_objects import series_reference
    from app.io.dicom_seg import read_seg
    from app.io.images import read_image

    directory, datasets = series
    write_seg(tmp_path / "seg", datasets, _one_hot(_label_map(rng, 2), 2), ["a", "b"])
    image = read_image(directory, "image")
    reference = series_reference(image.files, image.geometry, "image")
    stored = 2 * SHAPE[0] * SHAPE[1] * SHAPE[2]  # two segments, one frame per slice each
    with pytest.raises(InputError, match=rf"declares a volume of {SHAPE[2]}x{SHAPE[1]}x{2 * SHAPE[0]}"):
        read_seg(tmp_path / "seg", reference, "ground truth", max_voxels=stored - 1)
    assert read_seg(tmp_path / "seg", reference, "ground truth", max_voxels=stored).labels.shape == SHAPE
