"""A 2D image has one slice: what DiceLens prints about it names no slice index ("z 0") and no z coordinate of
pixels (the readout, the objects text of ``score``, the report's verdict, object table and captions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.cli import main
from app.io import load_case
from app.object_document import ObjectItem
from app.object_text import describe_item
from app.qt.voxel_readout import describe_voxel
from tests.app.io.conftest import ANISOTROPIC_SPACING, write_volume
from tests.app.report.test_verdict import report

VOXEL_ML = math.prod(ANISOTROPIC_SPACING) / 1000


def item(volume_ml):
    return ObjectItem(kind="missed", voxels=12, volume_ml=volume_ml, centroid_voxel_zyx=(0.0, 3.5, 5.0),
                      centroid_mm=(5.0, 3.5, 0.0), key_slice_zyx=(0, 3, 5), iou=0.0, dice=0.0, distance_mm=None)


def test_an_object_of_a_2d_image_is_described_without_its_slice():
    assert describe_item(item(None), two_dimensional=True) == (
        "12 px, centroid (5.0, 3.5) px (x, y), pixel (3.5, 5.0) (y, x), IoU 0.00, none in the other mask")
    assert describe_item(item(None)) == ("12 px, key slice z 0, centroid (5.0, 3.5, 0.0) px (x, y, z), voxel "
                                         "(0.0, 3.5, 5.0) (z, y, x), IoU 0.00, none in the other mask")
    # with a physical size, the centroid is a place in the patient (LPS): its three coordinates stay
    assert "centroid (5.0, 3.5, 0.0) mm (x, y, z), pixel (3.5, 5.0) (y, x)" in describe_item(item(0.012), True)


@pytest.fixture
def flat_lesions(tmp_path):
    """A 2D NIfTI pair with a physical pixel size: one lesion found, one of 96 pixels (0.151 mL) missed."""
    gt = np.zeros((1, 40, 40), np.uint8)
    gt[0, 2:22, 2:22] = 1
    pred = gt.copy()
    gt[0, 30:38, 28:40] = 1
    return ["--gt", str(write_volume(tmp_path / "gt.nii.gz", gt)),
            "--pred", str(write_volume(tmp_path / "pred.nii.gz", pred))]


def test_the_readout_of_a_2d_image_names_its_pixel(flat_lesions):
    case = load_case(flat_lesions[1], flat_lesions[3])
    assert case.gt.shape[0] == 1 and case.has_physical_spacing
    text = describe_voxel(case, (0, 4, 7))
    assert text.startswith("pixel (7, 4)   LPS (") and "voxel" not in text


def test_score_objects_of_a_2d_image_name_no_slice(flat_lesions, capsys):
    assert main(["score", *flat_lesions, "--objects"]) == 0
    out = capsys.readouterr().out
    assert f"missed label 1: {96 * VOXEL_ML:.3f} mL (96 vox), centroid (" in out
    assert "pixel (33.5, 33.5) (y, x)" in out and "slice z" not in out


def test_the_report_of_a_2d_image_names_no_slice(flat_lesions, tmp_path, capsys):
    document, text = report(flat_lesions, tmp_path, capsys, "--verdict-hd95", "1000")
    missed = next(c for c in document["criteria"] if c["holds"] is False)
    assert missed["finding"] == f"label 1 {96 * VOXEL_ML:.3f} mL"
    flat = " ".join(text.split())
    assert "missed" in flat and "key slice z" not in flat and "axial slice" not in flat and "slice z" not in flat
    assert "pixel index (y, x)" in flat


def test_a_clicked_matrix_cell_of_a_2d_image_names_no_slice(qtbot, flat_lesions):
    from PySide6.QtCore import Qt

    from tests.app.qt.test_confusion_panel import shown_panel, view_position

    state, _, panel = shown_panel(qtbot, load_case(flat_lesions[1], flat_lesions[3]))
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_position(panel, 1, 0))
    assert state.highlighted_cell == (1, 0)
    assert panel.info_label.text() == panel.describe_cell(1, 0)   # the cell's counts, and no slice to go to


def test_a_key_slice_caption_names_the_slice_of_a_volume_only():
    from app.report.keyslices import KeySlice

    mask = np.zeros((2, 2), bool)
    volume = KeySlice(1, "liver", (1, 2, 3), ("worst Dice",), 12, 0.5, 1, 2, None, mask, mask, (1.0, 1.0),
                      {"left": "R", "right": "L", "top": "A", "bottom": "P"}, plane="coronal")
    assert volume.place == "coronal slice 12"
    flat = KeySlice(1, "liver", (1, 2, 3), ("worst Dice",), 0, 0.5, 1, 2, None, mask, mask, (1.0, 1.0), None)
    assert flat.place == ""   # the review summary's and the object pictures' captions leave it out
