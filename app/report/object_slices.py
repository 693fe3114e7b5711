"""Key-slice snapshots of the largest missed and false objects, for the report's object section (Qt-free).

Each object is shown on its key slice (the axial slice with most of its voxels, from the score's
``objects`` block), cropped around its centroid, with the ground-truth and predicted contours of its class
laid out as the review window shows them (:mod:`app.orientation`). Nothing is computed here beyond
choosing and cropping: the objects and their key slices come from :mod:`app.object_scoring`.
"""

from __future__ import annotations

import math

import numpy as np

from app.object_document import CaseObjects
from app.orientation import display_frame, to_screen
from app.report.keyslices import SLICE_AXIS, KeySlice, crop_box, intensity_window, screen_slice
from app.report.keyslices import _scaled as scaled_crop

MAX_OBJECT_SNAPSHOTS = 6
"""Snapshots of the largest missed and false objects (the table lists them all)."""


def object_key_slices(case, objects: CaseObjects | None, limit: int = MAX_OBJECT_SNAPSHOTS) -> tuple[KeySlice, ...]:
    """Snapshots of the ``limit`` largest missed and false objects (missed first on equal size).

    Parameters
    ----------
    case : app.io.Case
        Supplies ``gt``, ``pred`` ``(z, y, x)``, ``image``, ``geometry`` and ``labels``.
    objects : CaseObjects or None
        The score document's ``objects`` block; None gives no snapshots.
    """
    if objects is None:
        return ()
    items = sorted(((entry, item) for entry in objects.classes for item in entry.items),
                   key=lambda pair: (-pair[1].voxels, pair[1].kind != "missed"))[:limit]
    geometry = case.geometry
    frame = display_frame(geometry.direction, geometry.spacing_zyx, SLICE_AXIS)
    window = intensity_window(case.image)
    # Instance images without semantic masks reach the report as one foreground class (or as raw ids); with
    # semantic masks the case holds those classes, so an object's class is outlined alone.
    any_foreground = objects.mode == "instance" and "instance_classes" not in objects.conventions
    snapshots = []
    for entry, item in items:
        slice_index = item.key_slice_zyx[SLICE_AXIS]
        gt_slice, pred_slice = (screen_slice(mask, slice_index, frame) for mask in (case.gt, case.pred))
        gt_class = gt_slice > 0 if any_foreground else gt_slice == entry.index
        pred_class = pred_slice > 0 if any_foreground else pred_slice == entry.index
        rows, cols = crop_box(to_screen(_marker(case.gt.shape, item), frame), (frame.row_mm, frame.col_mm))
        image = None if case.image is None else screen_slice(case.image, slice_index, frame)[rows, cols]
        snapshots.append(KeySlice(
            class_index=entry.index, class_name=entry.name, color=tuple(case.labels.color(entry.index)),
            kinds=(item.kind,), slice_index=int(slice_index), dice=None,
            fp=item.voxels if item.kind == "false" else 0, fn=item.voxels if item.kind == "missed" else 0,
            image=scaled_crop(image, window), gt=gt_class[rows, cols],
            pred=pred_class[rows, cols], pixel_spacing=(frame.row_mm, frame.col_mm),
            orientation=None if case.gt.shape[SLICE_AXIS] == 1 else {
                edge: getattr(frame, edge) for edge in ("left", "right", "top", "bottom")},
            plane=frame.plane, crop=(rows, cols)))
    return tuple(snapshots)


def _marker(shape, item):
    """An array-laid-out ``(y, x)`` slice marking a square around the object's centroid, about its size."""
    frame_shape = shape[1:]
    half = max(2, math.ceil(math.sqrt(item.voxels)))
    marker = np.zeros(frame_shape, dtype=bool)
    centre = [min(max(round(c), 0), n - 1) for c, n in zip(item.centroid_voxel_zyx[1:], frame_shape, strict=True)]
    marker[tuple(slice(max(0, c - half), c + half + 1) for c in centre)] = True
    return marker

