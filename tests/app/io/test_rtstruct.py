"""RTSTRUCT as ground truth or prediction: contours rasterised onto the referenced series (even-odd rule)."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InputError
from app.io import load_case
from app.scoring import score_case
from tests.app.io.conftest import write_volume
from tests.app.io.dicom_builders import SPACING, pixel_polygon, write_ct_series, write_rtstruct

SHAPE = (4, 10, 12)  # (z, y, x)


def _square(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


@pytest.fixture
def series(tmp_path, rng):
    return tmp_path / "ct", write_ct_series(tmp_path / "ct", rng.integers(-1000, 1000, SHAPE))


def test_rois_become_classes_in_order_with_holes_names_and_colours(tmp_path, series):
    directory, datasets = series
    ring = [pixel_polygon(_square(1, 1, 9, 8), z) for z in (1, 2)] + [pixel_polygon(_square(3, 3, 6, 6), 1)]
    write_rtstruct(tmp_path / "structures", datasets,
                   [("Body ring", ring), ("GTV", [pixel_polygon(_square(10, 0, 12, 2), 3)])],
                   colors=[(10, 20, 30), (200, 100, 0)])
    case = load_case(tmp_path / "structures", tmp_path / "structures", image=directory)
    expected = np.zeros(SHAPE, np.uint8)
    expected[1:3, 1:8, 1:9] = 1
    expected[1, 3:6, 3:6] = 0  # the inner contour on slice 1 is a hole
    expected[3, 0:2, 10:12] = 2
    np.testing.assert_array_equal(case.gt, expected)
    assert (case.labels.name(1), case.labels.name(2)) == ("Body ring", "GTV")
    assert case.labels.color(2) == (200, 100, 0)
    assert case.sources["gt"].format == "DICOM RTSTRUCT"


def test_scores_equal_the_nifti_path_and_overlaps_are_counted(tmp_path, series):
    directory, datasets = series
    write_rtstruct(tmp_path / "gt.dcm", datasets, [("A", [pixel_polygon(_square(0, 0, 6, 6), 0)]),
                                                  ("B", [pixel_polygon(_square(4, 4, 8, 8), 0)])])
    write_rtstruct(tmp_path / "pred.dcm", datasets, [("A", [pixel_polygon(_square(1, 0, 6, 5), 0)]),
                                                    ("B", [pixel_polygon(_square(5, 5, 9, 9), 0)])])
    case = load_case(tmp_path / "gt.dcm", tmp_path / "pred.dcm", image=directory)
    assert any("later segment wins" in m and "ROI 'B': 4 voxels" in m for m in case.messages)
    write_volume(tmp_path / "gt.nii.gz", case.gt, spacing=SPACING)
    write_volume(tmp_path / "pred.nii.gz", case.pred, spacing=SPACING)
    expected_gt = np.zeros(SHAPE, np.uint8)
    expected_gt[0, 0:6, 0:6] = 1
    expected_gt[0, 4:8, 4:8] = 2
    np.testing.assert_array_equal(case.gt, expected_gt)
    from_rt, from_nifti = score_case(case), score_case(load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz"))
    assert from_rt.confusion_matrix == from_nifti.confusion_matrix
    assert [c.dice for c in from_rt.classes] == [c.dice for c in from_nifti.classes]


def test_contour_slightly_off_its_slice_is_snapped_but_one_between_slices_is_refused(tmp_path, series):
    directory, datasets = series
    near = pixel_polygon(_square(2, 2, 5, 5), 2)
    near[:, 2] += 0.2 * SPACING[2]  # within the 0.25-slice tolerance
    write_rtstruct(tmp_path / "near", datasets, [("A", [near])])
    assert np.count_nonzero(load_case(tmp_path / "near", tmp_path / "near", image=directory).gt[2]) == 9
    between = pixel_polygon(_square(2, 2, 5, 5), 2)
    between[:, 2] += 0.5 * SPACING[2]
    write_rtstruct(tmp_path / "between", datasets, [("A", [between])])
    with pytest.raises(InputError, match=r"contour 1 .* 0\.50 slice spacings from the nearest slice"):
        load_case(tmp_path / "between", tmp_path / "between", image=directory)


def test_empty_roi_and_other_frame_of_reference_are_refused(tmp_path, series):
    directory, datasets = series
    write_rtstruct(tmp_path / "empty", datasets, [("A", [pixel_polygon(_square(2, 2, 5, 5), 2)]), ("Empty", [])])
    with pytest.raises(InputError, match=r"ROI 'Empty' \(number 20\) has no closed contours"):
        load_case(tmp_path / "empty", tmp_path / "empty", image=directory)
    write_rtstruct(tmp_path / "other", datasets, [("A", [pixel_polygon(_square(2, 2, 5, 5), 2)])],
                   frame_of_reference_uid="1.2.3.4.5")
    with pytest.raises(InputError, match=r"Frame of Reference 1\.2\.3\.4\.5"):
        load_case(tmp_path / "other", tmp_path / "other", image=directory)


def test_rtstruct_of_another_series_is_refused_naming_it(tmp_path, rng, series):
    directory, _ = series
    other = write_ct_series(tmp_path / "other", rng.integers(0, 9, SHAPE), series_uid="1.2.3.777")
    write_rtstruct(tmp_path / "rt", other, [("A", [pixel_polygon(_square(2, 2, 5, 5), 2)])])
    with pytest.raises(InputError, match=r"references series 1\.2\.3\.777"):
        load_case(tmp_path / "rt", tmp_path / "rt", image=directory)


def test_rtstruct_roi_names_map_through_the_label_table(tmp_path, series):
    directory, datasets = series
    write_rtstruct(tmp_path / "rt", datasets, [("gtv", [pixel_polygon(_square(2, 2, 5, 5), 2)]),
                                               ("Spinal cord", [pixel_polygon(_square(6, 6, 8, 8), 1)])])
    (tmp_path / "labels.txt").write_text("1 spinal cord\n2 heart\n3 GTV\n")
    case = load_case(tmp_path / "rt", tmp_path / "rt", image=directory, labels=tmp_path / "labels.txt")
    assert set(np.unique(case.gt[2])) == {0, 3} and set(np.unique(case.gt[1])) == {0, 1}


@pytest.mark.parametrize("cut", [20, 200, 800])
def test_truncated_rtstruct_is_refused_in_words(tmp_path, series, cut):
    # (pydicom silently drops a cut trailing element; a cut of the last 12 bytes, the empty
    # RT ROI Observations Sequence here, loses no contour and reads the same mask)
    directory, datasets = series
    path = write_rtstruct(tmp_path / "rt", datasets, [("A", [pixel_polygon(_square(2, 2, 5, 5), 2)])])
    (tmp_path / "cut").write_bytes(path.read_bytes()[:-cut])
    refusals = r"could not be read as an RTSTRUCT|header cannot be read|no valid Contour Data|no closed contours"
    with pytest.raises(InputError, match=refusals):
        load_case(tmp_path / "cut", tmp_path / "cut", image=directory)
