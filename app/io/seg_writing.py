"""Write a label map as a new DICOM Segmentation (SEG) instance referencing its image series (highdicom).

One segment per class ``1..C-1`` (named from the label table, ``label N`` otherwise), with the table's
colour as the recommended display colour and, when the mask was read from a SEG, the coded category
and type of that SEG's segment of the same name (else category "Tissue", type "Organ"). The instance
gets a new Series Instance UID, Series Description "DiceLens corrected" and the reviewer as content
creator. The file is written atomically (:mod:`app.io.writing`); it reads back, with highdicom and
with :func:`app.io.dicom_seg.read_seg`, to the identical label map.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from app import __version__
from app.errors import InputError
from app.io.dicom_objects import DICOM_ERRORS, SEG_FORMAT, SeriesReference
from app.io.labels import LabelTable
from app.io.sources import InputFile
from app.io.writing import atomic_directory

SERIES_DESCRIPTION = "DiceLens corrected"
_TISSUE = hd.sr.CodedConcept("85756007", "SCT", "Tissue")
_ORGAN = hd.sr.CodedConcept("113343008", "SCT", "Organ")

_READ_ERRORS = (InvalidDicomError, *DICOM_ERRORS)


def save_dicom_seg(labels_zyx: np.ndarray, path: str | Path, series: SeriesReference, table: LabelTable, *,
                   reviewer: str = "", like: InputFile | None = None,
                   before_replace: Callable[[Path], None] | None = None) -> Path:
    """Write ``labels_zyx`` as a binary DICOM SEG of ``series``.

    Parameters
    ----------
    labels_zyx : np.ndarray
        ``(z, y, x)`` integer class indices on the series' grid (0 = background).
    path : str or Path
        The file to write (any name; ``.dcm`` is usual).
    series : SeriesReference
        The image series the mask lies on (the case's ``--image``).
    table : LabelTable
        Names and colours of the classes.
    reviewer : str
        Content Creator's Name (a DICOM person name: ``Family^Given``, or free text).
    like : InputFile, optional
        The mask's source; when it is a SEG, its segments' coded category and type are carried over.
    before_replace : callable, optional
        As for :func:`app.io.writing.save_mask`.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        A mask not on the series' grid, or the file cannot be written.
    """
    path = Path(path)
    labels = np.asarray(labels_zyx)
    if labels.dtype.kind not in "iub" or labels.shape != series.geometry.shape_zyx:
        raise InputError(f"cannot write '{path}': the mask ({labels.shape}, {labels.dtype}) must hold integer "
                         f"labels on the series' grid {series.geometry.shape_zyx} (z, y, x).")
    highest = int(labels.max(initial=0))
    classes = max(highest, max(table.indices(), default=0))
    if classes < 1:
        raise InputError(f"cannot write '{path}' as a DICOM SEG: the mask holds no class (only background) "
                         "and the label table names none.")
    codes = _source_codes(like)
    descriptions = [_description(index, table, codes) for index in range(1, classes + 1)]
    try:
        seg = hd.seg.Segmentation(
            source_images=list(series.datasets), pixel_array=labels.astype(np.uint16 if classes > 255 else np.uint8),
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descriptions,
            series_instance_uid=hd.UID(), series_number=_series_number(series), sop_instance_uid=hd.UID(),
            instance_number=1, manufacturer="DiceLens", manufacturer_model_name="DiceLens",
            software_versions=__version__, device_serial_number="none", series_description=SERIES_DESCRIPTION,
            content_label="CORRECTED", content_description="Segmentation corrected in DiceLens",
            content_creator_name=_person_name(reviewer), omit_empty_frames=highest > 0)
    except _READ_ERRORS as error:
        raise InputError(f"cannot write '{path}' as a DICOM SEG ({error}).") from None
    with atomic_directory(path, before_replace) as temporary:
        seg.save_as(temporary / path.name, enforce_file_format=True)
    return path


def _series_number(series: SeriesReference) -> int:
    number = getattr(series.datasets[0], "SeriesNumber", None) if series.datasets else None
    return int(number) + 1000 if number not in (None, "") else 1000


def _person_name(reviewer: str) -> str | None:
    """Free text made a valid person name: no backslash, at most 64 characters, and a single component
    (no ``^``) marked as the whole family name by a trailing caret, as the standard asks."""
    text = reviewer.replace("\\", " ").strip()[:63]
    if not text:
        return None
    return text if "^" in text else f"{text}^"


def _description(index: int, table: LabelTable, codes: dict[str, tuple]) -> hd.seg.SegmentDescription:
    name = table.name(index)
    category, kind = codes.get(name.strip().casefold(), (_TISSUE, _ORGAN))
    return hd.seg.SegmentDescription(
        segment_number=index, segment_label=name[:64], segmented_property_category=category,
        segmented_property_type=kind, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        display_color=hd.color.CIELabColor.from_rgb(*table.color(index)))


def _source_codes(like: InputFile | None) -> dict[str, tuple]:
    """``{segment name (casefolded): (category, type)}`` of the SEG the mask was read from."""
    if like is None or like.format != SEG_FORMAT:
        return {}
    try:
        header = pydicom.dcmread(like.path, stop_before_pixels=True)
        return {str(item.SegmentLabel).strip().casefold():
                (hd.sr.CodedConcept.from_dataset(item.SegmentedPropertyCategoryCodeSequence[0]),
                 hd.sr.CodedConcept.from_dataset(item.SegmentedPropertyTypeCodeSequence[0]))
                for item in header.SegmentSequence}
    except _READ_ERRORS:
        return {}  # the source changed or vanished since it was read: use the generic codes
