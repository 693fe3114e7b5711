"""Read an RT Structure Set (RTSTRUCT) onto the grid of the image series it references.

Every ROI's closed planar contours are rasterised slice by slice with the even-odd rule
(:func:`app.io.polygon_fill.fill_even_odd`: holes and islands, any winding). A contour's points are
taken into the series' voxel coordinates; it must lie in one slice plane, snapped to the nearest
slice when within :data:`SLICE_TOLERANCE` of a slice spacing (else refused: the contour was drawn on
another grid). ROIs are classes 1, 2, ... in the order the structure set lists them (or the
``--labels`` index of their name); where ROIs overlap the later one wins. Point and open contours
mark no region and are left out (the messages say how many).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from app.errors import InputError
from app.io.dicom_objects import (
    DICOM_ERRORS,
    MAX_HEADER_BYTES,
    RTSTRUCT_FORMAT,
    ObjectRead,
    SeriesReference,
    class_indices,
    empty_labels,
    label_table,
    overlap_message,
    paint,
    require_frame_of_reference,
    require_known_instances,
)
from app.io.labels import LabelTable
from app.io.polygon_fill import fill_even_odd

SLICE_TOLERANCE = 0.25
"""A contour is placed on the nearest slice when it lies within this fraction of the slice spacing."""

_READ_ERRORS = (InvalidDicomError, *DICOM_ERRORS)


def read_rtstruct(path: str | Path, reference: SeriesReference, role: str, *,
                  table: LabelTable | None = None) -> ObjectRead:
    """Rasterise every ROI of an RTSTRUCT file onto ``reference``'s grid.

    Parameters
    ----------
    path : str or Path
        The RTSTRUCT file (already checked to be a regular file of the RT Structure Set SOP class).
    reference : SeriesReference
        The image series given with ``--image``.
    role : str
        How messages name the input.
    table : LabelTable, optional
        Map ROI names to these indices instead of their order.

    Returns
    -------
    ObjectRead
        ``labels`` is ``(z, y, x)`` on the series grid.

    Raises
    ------
    InputError
        Damaged or oversized file, another Frame of Reference or series, no ROIs, an ROI without
        closed contours, a contour off the slice planes or not planar.
    """
    name = f"{role} '{path}'"
    size = Path(path).stat().st_size
    if size > MAX_HEADER_BYTES:
        raise InputError(f"{name} is {size / 1e6:.0f} MB; DiceLens reads RTSTRUCT files up to "
                         f"{MAX_HEADER_BYTES / 1e6:.0f} MB (contours are stored as text).")
    try:
        dataset = pydicom.dcmread(path)
        frames = list(dataset.ReferencedFrameOfReferenceSequence)
        rois = [(int(item.ROINumber), str(item.ROIName), str(getattr(item, "ReferencedFrameOfReferenceUID", "")))
                for item in dataset.StructureSetROISequence]
        contours_of = {int(item.ReferencedROINumber): item for item in getattr(dataset, "ROIContourSequence", [])}
    except _READ_ERRORS:
        raise InputError(f"{name} could not be read as an RTSTRUCT (damaged, or its structure set sequences "
                         "are missing); export it again.") from None
    for frame in frames:
        require_frame_of_reference(str(getattr(frame, "FrameOfReferenceUID", "")), reference, name)
    for _, _, frame_uid in rois:
        if frame_uid:
            require_frame_of_reference(frame_uid, reference, name)
    _require_series(dataset, frames, reference, name)
    if not rois:
        raise InputError(f"{name} holds no ROIs.")
    names = {order: roi_name for order, (_, roi_name, _) in enumerate(rois, start=1)}
    mapping = class_indices(names, table, name)
    labels = empty_labels(reference.geometry.shape_zyx, max(mapping.values()))
    overlaps: dict[str, int] = {}
    colors: dict[int, tuple[int, int, int] | None] = {}
    skipped = 0
    for order, (number, roi_name, _) in enumerate(rois, start=1):
        item = contours_of.get(number)
        colors[order] = _color(item)
        by_slice, left_out = _contours_by_slice(item, reference, f"{name}, ROI '{roi_name}'")
        skipped += left_out
        if not by_slice:
            raise InputError(f"{name}: ROI '{roi_name}' (number {number}) has no closed contours, so it marks "
                             "no voxels; remove it from the structure set or draw it.")
        mask = np.zeros(labels.shape, dtype=bool)
        for z, polygons in by_slice.items():
            mask[z] = fill_even_odd(polygons, labels.shape[1:])
        taken = paint(labels, mask, mapping[order])
        if taken:
            overlaps[f"ROI '{roi_name}'"] = taken
    messages = [message for message in [overlap_message(name, overlaps)] if message]
    if skipped:
        messages.append(f"{name}: {skipped} point or open contour(s) mark no region and were left out.")
    details = f"RTSTRUCT, {len(rois)} ROI(s), series {reference.series_uid}"
    return ObjectRead(labels, label_table(names, colors, mapping, RTSTRUCT_FORMAT), RTSTRUCT_FORMAT, details,
                      messages)


def _require_series(dataset, frames: list, reference: SeriesReference, name: str) -> None:
    """The referenced series and image instances (structure set and contours) must be the image's."""
    series, instances = set(), []
    for frame in frames:
        for study in getattr(frame, "RTReferencedStudySequence", []):
            for item in getattr(study, "RTReferencedSeriesSequence", []):
                series.add(str(item.SeriesInstanceUID))
                instances += [str(image.ReferencedSOPInstanceUID)
                              for image in getattr(item, "ContourImageSequence", [])]
    for roi in getattr(dataset, "ROIContourSequence", []):
        for contour in getattr(roi, "ContourSequence", []):
            instances += [str(image.ReferencedSOPInstanceUID) for image in getattr(contour, "ContourImageSequence", [])]
    other = sorted(series - {reference.series_uid})
    if other:
        raise InputError(f"{name} references series {', '.join(other)}, but the image series is "
                         f"{reference.series_uid}. Pass the series it references with --image.")
    require_known_instances(instances, reference, name)


def _contours_by_slice(item, reference: SeriesReference, name: str) -> tuple[dict[int, list[np.ndarray]], int]:
    """Closed contours in voxel coordinates ``(x, y)``, grouped by slice; and how many were not closed."""
    geometry = reference.geometry
    to_index = np.linalg.inv(np.array(geometry.direction).reshape(3, 3) @ np.diag(geometry.spacing))
    origin = np.array(geometry.origin)
    depth = geometry.size[2]
    by_slice: dict[int, list[np.ndarray]] = defaultdict(list)
    skipped = 0
    for number, contour in enumerate(getattr(item, "ContourSequence", []) if item is not None else [], start=1):
        if str(getattr(contour, "ContourGeometricType", "CLOSED_PLANAR")) != "CLOSED_PLANAR":
            skipped += 1
            continue
        try:
            points = np.array([float(v) for v in contour.ContourData], dtype=np.float64).reshape(-1, 3)
        except (AttributeError, ValueError):
            raise InputError(f"{name}: contour {number} has no valid Contour Data (x, y, z triplets).") from None
        index = (points - origin) @ to_index.T  # (n, 3) continuous (x, y, z) voxel coordinates
        z = float(np.median(index[:, 2]))
        nearest = round(z)
        off = np.abs(index[:, 2] - nearest).max()
        if off > SLICE_TOLERANCE or not 0 <= nearest < depth:
            where = f"{points[0, 2]:.4g} mm" if points.size else "nowhere"
            raise InputError(f"{name}: contour {number} (at {where}) lies {off:.2f} slice spacings from the "
                             f"nearest slice of the series (tolerance {SLICE_TOLERANCE}), or outside it: it was "
                             "drawn on another grid. Pass the series it was drawn on with --image.")
        by_slice[nearest].append(index[:, :2])
    return dict(by_slice), skipped


def _color(item) -> tuple[int, int, int] | None:
    value = getattr(item, "ROIDisplayColor", None) if item is not None else None
    try:
        return tuple(int(v) for v in value)[:3] if value is not None and len(value) >= 3 else None
    except (TypeError, ValueError):
        return None
