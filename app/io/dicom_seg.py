"""Read a DICOM Segmentation (SEG) onto the grid of the image series it segments, with highdicom.

Binary and fractional SEGs, one or many segments, frames stored in any order: each frame is placed by
the source image it references (highdicom's ``get_pixels_by_source_instance``), after checking that
the SEG lies in the series' Frame of Reference, references only its images, has its rows and columns,
and that every frame's stored position and orientation are those of the slice it references. A
fractional voxel belongs to a segment when its value is at least the threshold (default 0.5).
Segment numbers are class indices unless a label table maps segment names to indices.
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from app.errors import InputError
from app.io.dicom_objects import (
    DEFAULT_THRESHOLD,
    DICOM_ERRORS,
    SEG_FORMAT,
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
from app.io.geometry import ORIGIN_TOLERANCE_FRACTION_OF_SPACING, SPACING_RELATIVE_TOLERANCE
from app.io.labels import LabelTable
from app.io.limits import check_declared_size

_READ_ERRORS = (InvalidDicomError, *DICOM_ERRORS)



def read_seg(path: str | Path, reference: SeriesReference, role: str, *, threshold: float = DEFAULT_THRESHOLD,
             table: LabelTable | None = None, max_voxels: int | None = None) -> ObjectRead:
    """Rasterise a SEG file onto ``reference``'s grid.

    Parameters
    ----------
    path : str or Path
        The SEG file (already checked to be a regular file of the SEG SOP class).
    reference : SeriesReference
        The image series given with ``--image``.
    role : str
        How messages name the input, e.g. ``"ground truth"``.
    threshold : float
        Fractional SEGs: a voxel is in a segment when its value (0..1) is >= ``threshold``.
    table : LabelTable, optional
        Map segment names to these indices instead of using segment numbers.
    max_voxels : int, optional
        Refuse a SEG declaring more stored voxels (frames x rows x columns), before decoding them.

    Returns
    -------
    ObjectRead
        ``labels`` is ``(z, y, x)`` on the series grid.

    Raises
    ------
    InputError
        Damaged file, another Frame of Reference, images not in the series, a different grid, no
        segments, or segment names the table does not hold.
    """
    name = f"{role} '{path}'"
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
        rows, columns = int(header.Rows), int(header.Columns)
        frames = int(getattr(header, "NumberOfFrames", 1))
        fractional = str(header.SegmentationType) == "FRACTIONAL"
    except _READ_ERRORS:
        raise InputError(f"{name}: the DICOM SEG header cannot be read (damaged, or required attributes "
                         "missing); export the segmentation again.") from None
    check_declared_size(name, (columns, rows, frames), 4 if fractional else 1, max_voxels)
    require_frame_of_reference(str(getattr(header, "FrameOfReferenceUID", "")), reference, name)
    try:
        dataset = pydicom.dcmread(path)
        _require_complete_pixels(dataset, rows * columns * frames, fractional, name)
        seg = hd.seg.Segmentation.from_dataset(dataset, copy=False)
        referenced = [uid for _, _, uid in seg.get_source_image_uids()]
    except _READ_ERRORS:
        raise InputError(f"{name} could not be read as a DICOM SEG (damaged pixel data or malformed "
                         "functional groups); export the segmentation again.") from None
    if not referenced:
        raise InputError(f"{name} does not say which images its frames segment (no Source Image "
                         "references); DiceLens needs them to place the frames. Export it with references.")
    require_known_instances(referenced, reference, name)
    _require_same_grid(header, reference, name)
    numbers = [int(n) for n in seg.segment_numbers]
    if not numbers:
        raise InputError(f"{name} holds no segments.")
    names = {n: str(seg.get_segment_description(n).SegmentLabel) for n in numbers}
    mapping = class_indices(names, table, name)
    labels = empty_labels(reference.geometry.shape_zyx, max(mapping.values()))
    overlaps: dict[str, int] = {}
    for number in numbers:
        try:
            pixels = seg.get_pixels_by_source_instance(
                list(reference.sop_instance_uids), segment_numbers=[number], rescale_fractional=True,
                skip_overlap_checks=True, dtype=np.float32 if fractional else np.uint8)[..., 0]
        except _READ_ERRORS as error:
            raise InputError(f"{name}: the frames of segment {number} cannot be placed on the series "
                             f"({error}); export the segmentation again.") from None
        mask = pixels >= threshold if fractional else pixels > 0
        taken = paint(labels, mask, mapping[number])
        if taken:
            overlaps[f"segment {number} '{names[number]}'"] = taken
    messages = [message for message in [overlap_message(name, overlaps)] if message]
    kind = "binary"
    if fractional:
        kind = f"fractional, voxel in a segment when its value >= {threshold:g}"
        messages.append(f"{name} is a fractional SEG: a voxel belongs to a segment when its value is at least "
                        f"{threshold:g} (of 1).")
    colors = {n: _display_color(seg, n) for n in numbers}
    details = f"SEG, {len(numbers)} segment(s) ({kind}), series {reference.series_uid}"
    return ObjectRead(labels, label_table(names, colors, mapping, SEG_FORMAT), SEG_FORMAT, details, messages)


def _require_complete_pixels(dataset: pydicom.Dataset, pixels: int, fractional: bool, name: str) -> None:
    """Uncompressed pixel data must hold every declared frame (a cut file otherwise reads as fewer)."""
    if "PixelData" not in dataset:
        raise InputError(f"{name} has no pixel data (the file is truncated or damaged); export it again.")
    if dataset.file_meta.TransferSyntaxUID.is_compressed:
        return  # the decoder reports damaged compressed frames
    needed = pixels if fractional else (pixels + 7) // 8
    if len(dataset.PixelData) < needed:
        raise InputError(f"{name} is truncated: its pixel data holds {len(dataset.PixelData):,} bytes, the "
                         f"declared frames need {needed:,}; copy or export the segmentation again.")


def _display_color(seg: hd.seg.Segmentation, number: int) -> tuple[int, int, int] | None:
    """The segment's Recommended Display CIELab value as RGB, or None."""
    value = getattr(seg.get_segment_description(number), "RecommendedDisplayCIELabValue", None)
    if value is None:
        return None
    try:
        return tuple(int(v) for v in hd.color.CIELabColor.from_dicom_value(list(value)).to_rgb(clip=True))
    except _READ_ERRORS:
        return None


def _require_same_grid(header: pydicom.Dataset, reference: SeriesReference, name: str) -> None:
    """Rows, columns, pixel spacing, orientation and each frame's position against the referenced slice."""
    geometry = reference.geometry
    size_x, size_y, _ = geometry.size
    problems = []
    if (int(header.Columns), int(header.Rows)) != (size_x, size_y):
        problems.append(f"frames of {header.Columns}x{header.Rows} pixels, the series' slices {size_x}x{size_y}")
    shared = _first_item(header, "SharedFunctionalGroupsSequence")
    per_frame = list(getattr(header, "PerFrameFunctionalGroupsSequence", []))
    spacing = _attribute(shared, per_frame[:1], "PixelMeasuresSequence", "PixelSpacing")
    if spacing is not None:
        expected = (geometry.spacing[1], geometry.spacing[0])  # (row spacing = y, column spacing = x)
        if any(abs(float(a) - b) > SPACING_RELATIVE_TOLERANCE * b for a, b in zip(spacing, expected, strict=True)):
            problems.append(f"pixel spacing {[float(v) for v in spacing]} mm, the series' {list(expected)} mm")
    orientation = _attribute(shared, per_frame[:1], "PlaneOrientationSequence", "ImageOrientationPatient")
    direction = np.array(geometry.direction).reshape(3, 3)
    if orientation is not None:
        expected = np.concatenate([direction[:, 0], direction[:, 1]])
        if np.abs(np.array([float(v) for v in orientation]) - expected).max() > 1e-4:
            problems.append(f"orientation {[float(v) for v in orientation]}, the series' {expected.tolist()}")
    if not problems:
        problems += _frame_position_problems(per_frame, reference, direction)
    if problems:
        raise InputError(f"{name} does not lie on the grid of the image series {reference.series_uid}: "
                         f"{'; '.join(problems)}. Pass the series it segments with --image.")


def _frame_position_problems(per_frame: list, reference: SeriesReference, direction: np.ndarray) -> list[str]:
    """Each frame's Image Position (Patient) against that of the slice its source reference names."""
    geometry = reference.geometry
    slice_of = {uid: z for z, uid in enumerate(reference.sop_instance_uids)}
    step = direction @ np.diag(geometry.spacing)
    tolerance = max(ORIGIN_TOLERANCE_FRACTION_OF_SPACING * min(geometry.spacing), 1e-3)
    for number, item in enumerate(per_frame, start=1):
        position = _attribute(item, [], "PlanePositionSequence", "ImagePositionPatient")
        source = _source_uid(item)
        if position is None or source not in slice_of:
            continue
        expected = np.array(geometry.origin) + step @ np.array([0.0, 0.0, slice_of[source]])
        found = np.array([float(v) for v in position])
        if np.abs(found - expected).max() > tolerance:
            return [f"frame {number} lies at {found.round(4).tolist()} mm but the slice it references "
                    f"({source}) at {expected.round(4).tolist()} mm"]
    return []


def _source_uid(item) -> str | None:
    try:
        return str(item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
    except (AttributeError, IndexError):
        return None


def _first_item(dataset, keyword: str):
    sequence = getattr(dataset, keyword, None)
    return sequence[0] if sequence else None


def _attribute(first, fallbacks: list, sequence_keyword: str, keyword: str):
    """``first.<sequence>[0].<keyword>``, else the same in the fallback items, else None."""
    for item in [first, *fallbacks]:
        inner = _first_item(item, sequence_keyword) if item is not None else None
        if inner is not None and keyword in inner:
            return inner[keyword].value
    return None
