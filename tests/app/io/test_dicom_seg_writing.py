"""Writing a label map as a DICOM SEG: reads back identical with highdicom and with our reader."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest

from app.errors import InputError
from app.io import dicom_series, load_case
from app.io.seg_writing import save_dicom_seg
from tests.app.io.conftest import write_volume
from tests.app.io.dicom_builders import SPACING, write_ct_series, write_seg

SHAPE = (4, 6, 8)


@pytest.fixture
def case_files(tmp_path, rng):
    datasets = write_ct_series(tmp_path / "ct", rng.integers(-1000, 1000, SHAPE))
    gt = rng.integers(0, 3, SHAPE).astype(np.uint8)
    write_seg(tmp_path / "gt_seg.dcm", datasets, np.stack([gt == 1, gt == 2]), ["Liver", "Spleen"],
              colors=[(220, 40, 40), (40, 40, 220)])
    return tmp_path, gt


def test_round_trip_is_identical_through_highdicom_and_our_reader(case_files, rng):
    folder, gt = case_files
    case = load_case(folder / "gt_seg.dcm", folder / "gt_seg.dcm", image=folder / "ct")
    np.testing.assert_array_equal(case.gt, gt)
    corrected = case.pred.copy()
    corrected[1, 2:4, 3:6] = 2  # a correction
    series = dicom_series(case)
    save_dicom_seg(corrected, folder / "corrected.dcm", series, case.labels, reviewer="Curie^Marie",
                   like=case.sources["pred"])
    seg = hd.seg.segread(folder / "corrected.dcm")
    assert seg.SeriesDescription == "DiceLens corrected" and str(seg.ContentCreatorName) == "Curie^Marie"
    assert seg.SeriesInstanceUID not in (series.series_uid, hd.seg.segread(folder / "gt_seg.dcm").SeriesInstanceUID)
    assert seg.FrameOfReferenceUID == series.frame_of_reference_uid
    by_highdicom = seg.get_pixels_by_source_instance(list(series.sop_instance_uids), combine_segments=True)
    np.testing.assert_array_equal(by_highdicom, corrected)
    described = seg.get_segment_description(1)
    assert described.SegmentLabel == "Liver"
    assert described.SegmentedPropertyTypeCodeSequence[0].CodeMeaning == "Tissue"  # carried over from the source
    reread = load_case(folder / "corrected.dcm", folder / "gt_seg.dcm", image=folder / "ct")
    np.testing.assert_array_equal(reread.gt, corrected)
    assert reread.labels.color(1) == case.labels.color(1) == (220, 40, 40)
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_nifti_mask_on_a_dicom_series_gets_tissue_organ_codes_and_table_names(tmp_path, rng):
    write_ct_series(tmp_path / "ct", rng.integers(-1000, 1000, SHAPE))
    labels = rng.integers(0, 4, SHAPE).astype(np.uint8)
    write_volume(tmp_path / "pred.nii.gz", labels, spacing=SPACING, origin=(-20.0, 15.0, 100.0))
    (tmp_path / "labels.txt").write_text("1 liver\n2 spleen\n3 kidney\n")
    case = load_case(tmp_path / "pred.nii.gz", tmp_path / "pred.nii.gz", image=tmp_path / "ct",
                     labels=tmp_path / "labels.txt")
    save_dicom_seg(case.pred, tmp_path / "out", dicom_series(case), case.labels)
    seg = hd.seg.segread(tmp_path / "out")
    assert [seg.get_segment_description(n).SegmentLabel for n in (1, 2, 3)] == ["liver", "spleen", "kidney"]
    assert seg.get_segment_description(3).SegmentedPropertyTypeCodeSequence[0].CodeMeaning == "Organ"
    again = load_case(tmp_path / "out", tmp_path / "out", image=tmp_path / "ct")
    np.testing.assert_array_equal(again.gt, labels)


def test_a_case_without_a_dicom_series_cannot_be_written_as_seg(tmp_path, rng):
    labels = rng.integers(0, 2, SHAPE).astype(np.uint8)
    write_volume(tmp_path / "m.nii.gz", labels)
    case = load_case(tmp_path / "m.nii.gz", tmp_path / "m.nii.gz")
    with pytest.raises(InputError, match="image was not given"):
        dicom_series(case)


def test_sparse_mask_writes_only_non_empty_frames_and_reads_back(tmp_path, rng):
    write_ct_series(tmp_path / "ct", rng.integers(-1000, 1000, SHAPE))
    labels = np.zeros(SHAPE, np.uint8)
    labels[2, 1:3, 2:5] = 1
    labels[3, 0, 0] = 2
    write_volume(tmp_path / "m.nii.gz", labels, spacing=SPACING, origin=(-20.0, 15.0, 100.0))
    case = load_case(tmp_path / "m.nii.gz", tmp_path / "m.nii.gz", image=tmp_path / "ct")
    save_dicom_seg(case.gt, tmp_path / "sparse.dcm", dicom_series(case), case.labels)
    assert int(hd.seg.segread(tmp_path / "sparse.dcm").NumberOfFrames) == 2  # empty frames are omitted
    np.testing.assert_array_equal(load_case(tmp_path / "sparse.dcm", tmp_path / "sparse.dcm",
                                            image=tmp_path / "ct").gt, labels)
