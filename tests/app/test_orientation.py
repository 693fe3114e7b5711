"""Orientation letters, plane names and screen layout from direction cosines (LPS, as ITK)."""

import numpy as np
import pytest
import SimpleITK as sitk

from app.orientation import (
    array_axis_for_plane,
    display_frame,
    index_to_physical,
    letter,
    plane_name,
    screen_to_index,
    to_screen,
)

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
# NIfTI/RAS-stored axial volume read by ITK: x index runs to the right, y index anteriorly.
RAS_STORED = (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
# Coronal acquisition (the ITK examples' k-means T1): y index runs superiorly, z index anteriorly.
CORONAL_ACQUISITION = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0)
SPACING_ZYX = (6.5, 0.78, 0.78)


def frame_letters(frame):
    return frame.left, frame.right, frame.top, frame.bottom


@pytest.mark.parametrize(
    ("direction", "axis", "plane", "letters"),
    [
        (IDENTITY, 0, "axial", ("R", "L", "A", "P")),
        (IDENTITY, 1, "coronal", ("R", "L", "S", "I")),
        (IDENTITY, 2, "sagittal", ("A", "P", "S", "I")),
        (RAS_STORED, 0, "axial", ("R", "L", "A", "P")),
        (RAS_STORED, 2, "sagittal", ("A", "P", "S", "I")),
        (CORONAL_ACQUISITION, 0, "coronal", ("R", "L", "S", "I")),
        (CORONAL_ACQUISITION, 1, "axial", ("R", "L", "A", "P")),
        (CORONAL_ACQUISITION, 2, "sagittal", ("A", "P", "S", "I")),
    ],
)
def test_known_directions_are_shown_in_radiological_layout(direction, axis, plane, letters):
    frame = display_frame(direction, SPACING_ZYX, axis)
    assert frame.plane == plane
    assert frame_letters(frame) == letters


def test_identity_axial_slice_is_shown_as_stored_and_coronal_is_flipped_superior_up():
    volume = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    axial = display_frame(IDENTITY, (1.0, 1.0, 1.0), 0)
    assert (axial.flip_rows, axial.flip_cols, axial.transposed) == (False, False, False)
    coronal = display_frame(IDENTITY, (1.0, 1.0, 1.0), 1)
    shown = to_screen(volume[:, 1, :], coronal)
    np.testing.assert_array_equal(shown[0], volume[-1, 1, :])  # top row = most superior slice


def test_ras_stored_volume_is_flipped_so_patient_left_is_on_screen_right():
    frame = display_frame(RAS_STORED, (1.0, 1.0, 1.0), 0)
    assert frame.flip_cols and frame.flip_rows
    volume = np.arange(12).reshape(1, 3, 4)
    np.testing.assert_array_equal(to_screen(volume[0], frame), volume[0, ::-1, ::-1])


def test_coronal_acquisition_axial_view_transposes_nothing_but_picks_the_right_axes():
    frame = display_frame(CORONAL_ACQUISITION, (3.0, 2.0, 2.0), 1)
    assert (frame.row_axis, frame.col_axis) == (0, 2)
    assert frame.flip_rows  # z index runs anteriorly, screen down is posterior
    assert (frame.row_mm, frame.col_mm) == (3.0, 2.0)


def test_swapped_in_plane_axes_are_transposed():
    # x index runs posteriorly, y index to the left: the axial slice must be transposed.
    direction = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    frame = display_frame(direction, (1.0, 2.0, 3.0), 0)
    assert frame.transposed
    assert (frame.row_axis, frame.col_axis, frame.row_mm, frame.col_mm) == (2, 1, 3.0, 2.0)
    assert frame_letters(frame) == ("R", "L", "A", "P")


@pytest.mark.parametrize("direction", [IDENTITY, RAS_STORED, CORONAL_ACQUISITION,
                                       (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0)])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_screen_pixels_map_back_to_the_voxels_they_show(direction, axis):
    shape = (3, 4, 5)
    volume = np.arange(np.prod(shape)).reshape(shape)
    frame = display_frame(direction, (1.0, 1.0, 1.0), axis)
    index = [slice(None)] * 3
    index[axis] = 1
    shown = to_screen(volume[tuple(index)], frame)
    for row in range(shown.shape[0]):
        for col in range(shown.shape[1]):
            assert volume[screen_to_index(frame, 1, row, col, shape)] == shown[row, col]


def test_plane_lookup_inverts_plane_names():
    for direction in (IDENTITY, CORONAL_ACQUISITION):
        for axis in (0, 1, 2):
            assert array_axis_for_plane(direction, plane_name(direction, axis)) == axis
    assert array_axis_for_plane(CORONAL_ACQUISITION, "axial") == 1
    with pytest.raises(ValueError, match="plane must be one of"):
        array_axis_for_plane(IDENTITY, "oblique")


def test_oblique_letters_name_the_dominant_direction():
    assert letter(np.array([0.3, -0.9, 0.1])) == "A"
    assert letter(np.array([-0.8, 0.5, 0.3])) == "R"
    assert letter(np.array([0.1, 0.2, 0.97])) == "S"


def test_index_to_physical_agrees_with_simpleitk():
    angle = 0.3
    direction = (np.cos(angle), -np.sin(angle), 0.0, np.sin(angle), np.cos(angle), 0.0, 0.0, 0.0, 1.0)
    image = sitk.Image(5, 6, 7, sitk.sitkUInt8)
    image.SetSpacing((0.78, 0.9, 6.5))
    image.SetOrigin((-100.0, 20.0, 5.5))
    image.SetDirection(direction)
    for index_zyx in [(0, 0, 0), (6, 5, 4), (3, 1, 2)]:
        expected = image.TransformIndexToPhysicalPoint(tuple(int(v) for v in index_zyx[::-1]))
        got = index_to_physical(index_zyx, image.GetOrigin(), image.GetSpacing(), image.GetDirection())
        np.testing.assert_allclose(got, expected, atol=1e-9)
