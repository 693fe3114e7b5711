"""Key slices are drawn exactly as the review window shows the slice: same layout, same edge letters.

Both code paths are called: the report's :func:`key_slices_for_case` and the window's
:class:`~app.qt.slice_view.SliceView` on the same case (pytest-qt, offscreen).
"""

import numpy as np
import pytest

from app.io import Case, Geometry, LabelTable
from app.qt.review_state import ReviewState
from app.qt.slice_view import SliceView
from app.report.keyslices import intensity_window, key_slices_for_case, per_slice_results

LPS = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
RAS_LIKE = (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)       # an MNI-152 NIfTI as SimpleITK reads it
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0)         # slices along z are coronal


def marked_case(direction):
    """A 3-class case whose class 1 is an L-shaped (asymmetric) marker near one corner of each slice."""
    shape = (6, 40, 50)
    gt = np.zeros(shape, np.uint8)
    gt[:, 5:25, 6:10] = 1          # long bar along y near x = 0
    gt[:, 21:25, 6:20] = 1         # foot along x: an L, so a flip or rotation changes the array
    gt[:, 30:36, 30:44] = 2
    pred = gt.copy()
    pred[2, 5:10, 6:10] = 0        # errors on one slice: that slice is the key slice
    pred[2, 30:33, 30:44] = 0
    image = (np.arange(np.prod(shape)).reshape(shape) % 97).astype(np.int16) + 100 * gt
    geometry = Geometry(size=(shape[2], shape[1], shape[0]), spacing=(0.8, 0.6, 3.0), origin=(0.0, 0.0, 0.0),
                        direction=direction)
    labels = LabelTable.from_names({0: "background", 1: "marker", 2: "blob"})
    return Case(gt=gt, pred=pred, image=image, geometry=geometry, labels=labels, num_classes=3, sources={})


@pytest.fixture
def view(qtbot):
    widget = SliceView(ReviewState())
    qtbot.addWidget(widget)
    widget.resize(500, 400)
    widget.show()
    return widget


@pytest.mark.parametrize(("direction", "letters"), [
    (LPS, {"left": "R", "right": "L", "top": "A", "bottom": "P"}),
    (RAS_LIKE, {"left": "R", "right": "L", "top": "A", "bottom": "P"}),
    (CORONAL, {"left": "R", "right": "L", "top": "S", "bottom": "I"}),
])
def test_key_slice_equals_the_windows_slice(view, direction, letters):
    case = marked_case(direction)
    keys = key_slices_for_case(case, per_slice_results(case.gt, case.pred, 3, device="cpu"),
                               ["background", "marker", "blob"])
    assert {key.class_index for key in keys} == {1, 2}
    view.state.set_case(case)
    window = intensity_window(case.image)
    assert window == view.window.levels                    # the image opens with the same window
    for key in keys:
        view.state.set_slice(key.slice_index)
        rows, cols = key.crop
        shown_gt, shown_pred = view._gt_slice[rows, cols], view._pred_slice[rows, cols]
        np.testing.assert_array_equal(key.gt, shown_gt == key.class_index)
        np.testing.assert_array_equal(key.pred, shown_pred == key.class_index)
        shown_image = view.image_item.image[rows, cols].astype(np.float32)
        np.testing.assert_allclose(key.image, np.clip((shown_image - window[0]) / (window[1] - window[0]), 0, 1))
        assert key.orientation == letters == {side: view.edge_labels[side].text() for side in letters}
        assert key.plane == view.frame.plane
        assert key.pixel_spacing == (view.frame.row_mm, view.frame.col_mm)


def test_ras_stored_key_slice_is_the_lps_one_turned_180_degrees():
    """The same anatomy stored LPS and RAS-like looks the same in the report (the MNI brain is upright)."""
    lps, ras = marked_case(LPS), marked_case(RAS_LIKE)
    # The RAS-like file holds the same anatomy with x and y reversed.
    for volume in ("gt", "pred", "image"):
        setattr(ras, volume, np.ascontiguousarray(getattr(lps, volume)[:, ::-1, ::-1]))
    names = ["background", "marker", "blob"]
    key_lps = key_slices_for_case(lps, per_slice_results(lps.gt, lps.pred, 3, device="cpu"), names, [1])[0]
    key_ras = key_slices_for_case(ras, per_slice_results(ras.gt, ras.pred, 3, device="cpu"), names, [1])[0]
    np.testing.assert_array_equal(key_ras.gt, key_lps.gt)
    np.testing.assert_array_equal(key_ras.image, key_lps.image)
    assert key_ras.orientation == key_lps.orientation


def test_ct_key_slices_open_on_the_windows_soft_tissue_preset(view):
    case = marked_case(LPS)
    case.image = (case.image.astype(np.int16) * 10 - 1024).astype(np.int16)   # Hounsfield-like
    view.state.set_case(case)
    assert intensity_window(case.image) == view.window.levels == (-160.0, 240.0)
