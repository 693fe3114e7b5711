"""3D Slicer .seg.nrrd: segment names and colours become the label table; multi-layer is refused."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import load_case, save_mask
from tests.app.io.conftest import ANISOTROPIC_SPACING, ORIGIN, blobs, write_volume

SEGMENTS = [("liver", "0.866667 0.509804 0.396078", 1), ("spleen", "0.615686 0.423529 0.635294", 2),
            ("left kidney", "0.72549 0.4 0.4", 3)]


def write_seg_nrrd(path, labels_zyx, segments=SEGMENTS, layers=None):
    """A single-layer (or, with ``layers``, multi-layer) Slicer segmentation as Slicer writes it."""
    image = sitk.GetImageFromArray(labels_zyx, isVector=layers is not None)
    image.SetSpacing(ANISOTROPIC_SPACING)
    image.SetOrigin(ORIGIN)
    image.SetMetaData("Segmentation_MasterRepresentation", "Binary labelmap")
    image.SetMetaData("Segmentation_ContainedRepresentationNames", "Binary labelmap|")
    for number, (name, colour, label) in enumerate(segments):
        prefix = f"Segment{number}_"
        image.SetMetaData(prefix + "ID", f"Segment_{number + 1}")
        image.SetMetaData(prefix + "Name", name)
        image.SetMetaData(prefix + "Color", colour)
        image.SetMetaData(prefix + "LabelValue", str(label))
        image.SetMetaData(prefix + "Layer", str(layers[number] if layers else 0))
        image.SetMetaData(prefix + "Extent", "0 1 0 1 0 1")
    sitk.WriteImage(image, str(path), useCompression=True)
    return path


def test_segment_names_and_colours_become_the_label_table(tmp_path, rng):
    gt = blobs(rng, (5, 20, 20), 4)
    write_seg_nrrd(tmp_path / "gt.seg.nrrd", gt)
    write_volume(tmp_path / "pred.nii.gz", gt)
    case = load_case(tmp_path / "gt.seg.nrrd", tmp_path / "pred.nii.gz")
    assert case.sources["gt"].format == "3D Slicer segmentation"
    assert [case.labels.name(i) for i in range(1, 4)] == ["liver", "spleen", "left kidney"]
    assert case.labels.color(1) == (221, 130, 101)
    assert case.labels.name(0) == "label 0"
    np.testing.assert_array_equal(case.gt, gt)


def test_explicit_label_table_wins_over_segments_and_says_so(tmp_path, rng):
    gt = blobs(rng, (5, 20, 20), 4)
    write_seg_nrrd(tmp_path / "gt.seg.nrrd", gt)
    write_volume(tmp_path / "pred.nii.gz", gt)
    (tmp_path / "names.txt").write_text("1 hepar\n")
    case = load_case(tmp_path / "gt.seg.nrrd", tmp_path / "pred.nii.gz", labels=tmp_path / "names.txt")
    assert case.labels.name(1) == "hepar"
    assert any("segment names were not used" in m for m in case.messages)


def test_multi_layer_segmentation_is_refused_with_what_to_do(tmp_path, rng):
    layers = (rng.random((4, 10, 10, 2)) > 0.5).astype(np.uint8)
    write_seg_nrrd(tmp_path / "gt.seg.nrrd", layers, SEGMENTS[:2], layers=[0, 1])
    write_volume(tmp_path / "pred.nii.gz", layers[..., 0])
    with pytest.raises(InputError, match=r"2 layers.*export the segments to a labelmap"):
        load_case(tmp_path / "gt.seg.nrrd", tmp_path / "pred.nii.gz")


def test_saving_back_keeps_segment_names(tmp_path, rng):
    gt = blobs(rng, (5, 20, 20), 4)
    write_seg_nrrd(tmp_path / "gt.seg.nrrd", gt)
    case = load_case(tmp_path / "gt.seg.nrrd", tmp_path / "gt.seg.nrrd")
    edited = case.pred.copy()
    edited[0] = 2
    save_mask(edited, tmp_path / "edited.seg.nrrd", like=case.sources["pred"])
    again = load_case(tmp_path / "edited.seg.nrrd", tmp_path / "gt.seg.nrrd")
    np.testing.assert_array_equal(again.gt, edited)
    assert again.labels.name(3) == "left kidney"
    assert not any(key.endswith("_Extent") for key in again.sources["gt"].metadata)


def test_4d_multi_layer_segmentation_gets_the_layer_advice(tmp_path, rng):
    image = sitk.Image([10, 10, 4, 2], sitk.sitkUInt8)
    for number, (name, _, label) in enumerate(SEGMENTS[:2]):
        image.SetMetaData(f"Segment{number}_Name", name)
        image.SetMetaData(f"Segment{number}_Layer", str(number))
        image.SetMetaData(f"Segment{number}_LabelValue", str(label))
    sitk.WriteImage(image, str(tmp_path / "layers.seg.nrrd"), useCompression=True)
    write_volume(tmp_path / "pred.nii.gz", np.zeros((4, 10, 10), np.uint8))
    with pytest.raises(InputError, match=r"2 layers.*Segmentations module"):
        load_case(tmp_path / "layers.seg.nrrd", tmp_path / "pred.nii.gz")
