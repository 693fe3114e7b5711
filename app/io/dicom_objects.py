"""DICOM segmentation objects (SEG, RTSTRUCT): detection by SOP Class UID, and the series they segment.

A SEG or RTSTRUCT file is recognised from its SOP Class UID, whatever its name; it is read onto the
grid of the image series given with ``--image`` (its :class:`SeriesReference`), and refused when it
references another series. Segments or ROIs become classes; when several cover one voxel the later
one wins, and the messages say how many voxels that changed (docs/architecture.md, trust rules).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import InputError
from app.io.geometry import Geometry
from app.io.images import DICOM_FORMAT
from app.io.labels import LabelEntry, LabelTable
from app.io.masks import MAX_LABEL
from app.io.paths import check_input_path, split_series_spec

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
SEG_FORMAT = "DICOM SEG"
RTSTRUCT_FORMAT = "DICOM RTSTRUCT"
_KINDS = {SEG_SOP_CLASS: SEG_FORMAT, RTSTRUCT_SOP_CLASS: RTSTRUCT_FORMAT}
MAX_HEADER_BYTES = 256 << 20
"""Largest RTSTRUCT read (its contours are text in the header; large ones are tens of megabytes)."""
# What pydicom raises on damaged or truncated files (it has no single base class for them; its
# InvalidDicomError is an Exception subclass of its own, caught where pydicom is imported).
DICOM_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, EOFError, OSError,
                NotImplementedError, RuntimeError, struct.error)
DEFAULT_THRESHOLD = 0.5
"""A fractional SEG voxel belongs to a segment when its value (0..1) is >= this."""


@dataclass(frozen=True)
class SeriesReference:
    """What a segmentation object must reference: the image series as read for ``--image``.

    Attributes
    ----------
    series_uid, study_uid, frame_of_reference_uid : str
        The series' UIDs.
    sop_instance_uids : tuple of str
        One per slice, in the order of the volume's z axis.
    geometry : Geometry
        The series' grid (as SimpleITK read it).
    datasets : tuple of pydicom.Dataset
        The slices' headers (no pixel data), in z order; a written SEG references them.
    """

    series_uid: str
    study_uid: str
    frame_of_reference_uid: str
    sop_instance_uids: tuple[str, ...]
    geometry: Geometry
    datasets: tuple = field(repr=False, default=())



@dataclass
class ObjectRead:
    """A SEG or RTSTRUCT rasterised onto its series: labels, their names, and notes for the user.

    Attributes
    ----------
    labels : np.ndarray
        ``(z, y, x)`` uint8 (int16 when a class index is >= 256) class indices, the series' shape.
    table : LabelTable
        Names and colours of the segments / ROIs, by class index.
    format : str
        :data:`SEG_FORMAT` or :data:`RTSTRUCT_FORMAT`.
    details : str
        Provenance, e.g. ``"SEG, 3 segments (binary), series 1.2.3"``.
    messages : list of str
        Overlaps resolved, thresholds used...
    """

    labels: np.ndarray
    table: LabelTable
    format: str
    details: str
    messages: list[str] = field(default_factory=list)


def segmentation_object_kind(spec: str | Path, role: str) -> str | None:
    """:data:`SEG_FORMAT` or :data:`RTSTRUCT_FORMAT` when ``spec`` is such a file, else None.

    Only a regular file with the DICOM preamble (``DICM`` at byte 128) is opened (a pipe or device is
    never opened); its SOP Class UID decides, not its name. A DICOM file of another class named
    without ``.dcm`` is refused here, since no other reader would recognise it.
    """
    text, series_uid = split_series_spec(str(spec))
    path = Path(text)
    if series_uid is not None or not path.is_file():
        return None
    check_input_path(path, role)
    with path.open("rb") as stream:
        preamble = stream.read(132)
    if preamble[128:132] != b"DICM":
        return None
    import pydicom  # here, not at the top: pydicom and highdicom cost ~0.5 s that NIfTI cases need not pay
    from pydicom.errors import InvalidDicomError

    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
        sop_class = str(header.SOPClassUID)
    except (InvalidDicomError, *DICOM_ERRORS):
        raise InputError(f"{role} '{path}' starts like a DICOM file but its header cannot be read (damaged "
                         "or truncated); export it again.") from None
    if sop_class in _KINDS:
        return _KINDS[sop_class]
    if path.name.lower().endswith(".dcm"):
        return None  # an image slice: read as a series, as before
    name = getattr(pydicom.uid.UID(sop_class), "name", sop_class)
    raise InputError(f"{role} '{path}' is a DICOM '{name}' object, not a segmentation; pass a DICOM SEG or "
                     "RTSTRUCT file, a DICOM series directory, or a mask file (NIfTI, NRRD...).")


HEADER_FIELDS = (("Patient ID", "PatientID"), ("Study date", "StudyDate"), ("Series", "SeriesDescription"))
"""Identifying header fields a report prints for DICOM inputs (left out with ``--deidentify``)."""


def dicom_header_fields(sources: Mapping) -> tuple[tuple[str, str], ...]:
    """Patient ID, study date (``YYYY-MM-DD``) and series description of a case's DICOM input.

    Parameters
    ----------
    sources : mapping of str to InputFile
        ``case.sources``; the image is looked at first, then the ground truth, then the prediction.

    Returns
    -------
    tuple of (str, str)
        ``(field, value)`` for the fields present; empty when no input is DICOM or its header is gone.
    """
    for role in ("image", "gt", "pred"):
        source = sources.get(role)
        if source is None or source.format not in (DICOM_FORMAT, SEG_FORMAT, RTSTRUCT_FORMAT) or not source.files:
            continue
        import pydicom
        from pydicom.errors import InvalidDicomError

        try:
            header = pydicom.dcmread(source.files[0], stop_before_pixels=True,
                                     specific_tags=[keyword for _, keyword in HEADER_FIELDS])
        except (InvalidDicomError, *DICOM_ERRORS):
            continue
        fields = []
        for name, keyword in HEADER_FIELDS:
            value = str(getattr(header, keyword, "") or "").strip()
            if keyword == "StudyDate" and len(value) == 8 and value.isdigit():
                value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
            if value:
                fields.append((name, value))
        return tuple(fields)
    return ()


def series_reference(files: Sequence[Path], geometry: Geometry, name: str) -> SeriesReference:
    """Read the headers (no pixels) of a series' files, given in z order.

    Raises
    ------
    InputError
        A file without SOP Instance / Series / Frame of Reference UIDs.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        datasets = tuple(pydicom.dcmread(path, stop_before_pixels=True) for path in files)
        first = datasets[0]
        uids = tuple(str(ds.SOPInstanceUID) for ds in datasets)
        return SeriesReference(series_uid=str(first.SeriesInstanceUID), study_uid=str(first.StudyInstanceUID),
                               frame_of_reference_uid=str(first.FrameOfReferenceUID), sop_instance_uids=uids,
                               geometry=geometry, datasets=datasets)
    except (InvalidDicomError, *DICOM_ERRORS):
        raise InputError(f"{name}: its files lack the SOP Instance, Series, Study or Frame of Reference UID that "
                         "a DICOM SEG or RTSTRUCT is matched against; pass the original series.") from None


def require_frame_of_reference(found: str, reference: SeriesReference, name: str) -> None:
    """Refuse an object in another Frame of Reference than the series', naming both UIDs."""
    if found != reference.frame_of_reference_uid:
        raise InputError(f"{name} is in Frame of Reference {found or '(none)'}, but the image series "
                         f"{reference.series_uid} is in {reference.frame_of_reference_uid}: it segments "
                         "another scan. Pass the series it references with --image.")


def require_known_instances(referenced: Sequence[str], reference: SeriesReference, name: str) -> None:
    """Refuse an object that references image instances the series does not hold, naming them."""
    known = set(reference.sop_instance_uids)
    missing = sorted({uid for uid in referenced if uid not in known})
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(f"{name} references {len(missing)} image(s) that are not in the image series "
                         f"{reference.series_uid}: SOP Instance UID {shown}. Pass the series it references "
                         "with --image (DIR::SERIES_UID when the folder holds several).")


def class_indices(names: dict[int, str], table: LabelTable | None, name: str) -> dict[int, int]:
    """Class index of each segment / ROI: its number, or the given table's index for its name.

    Parameters
    ----------
    names : dict of int to str
        Segment number (or ROI order) -> its label.
    table : LabelTable, optional
        ``--labels``: names are matched to its entries (case and surrounding spaces ignored).

    Raises
    ------
    InputError
        A name the table does not hold (every unmatched name is listed), or an index outside
        1..:data:`~app.io.masks.MAX_LABEL`.
    """
    if table is None:
        mapping = dict(zip(names, names, strict=True))
    else:
        by_name = {entry.name.strip().casefold(): entry.index for entry in table.entries() if entry.name}
        unmatched = [label for label in names.values() if label.strip().casefold() not in by_name]
        if unmatched:
            listed = ", ".join(f"'{label}'" for label in unmatched)
            known = ", ".join(f"'{entry.name}'" for entry in table.entries() if entry.index) or "none"
            raise InputError(f"{name}: segment name(s) {listed} are not in the label table given with --labels "
                             f"(it names {known}); add them to the table, or leave out --labels to use the "
                             "segment numbers.")
        mapping = {number: by_name[label.strip().casefold()] for number, label in names.items()}
    too_high = [index for index in mapping.values() if index > MAX_LABEL or index < 1]
    if too_high:
        raise InputError(f"{name}: class index {too_high[0]} is outside 1..{MAX_LABEL}; renumber the segments.")
    return mapping


def empty_labels(shape_zyx: tuple[int, int, int], highest: int) -> np.ndarray:
    """Zeros of the smallest label type holding ``highest`` (uint8, else int16)."""
    return np.zeros(shape_zyx, dtype=np.uint8 if highest < 256 else np.int16)


def paint(labels: np.ndarray, mask: np.ndarray, index: int) -> int:
    """Write ``index`` where ``mask`` is set (the later segment wins); return how many voxels it took over.

    Parameters
    ----------
    labels : np.ndarray
        ``(z, y, x)`` class indices, changed in place.
    mask : np.ndarray
        ``(z, y, x)`` bool.
    """
    overlapped = int(np.count_nonzero(labels[mask]))
    labels[mask] = index
    return overlapped


def overlap_message(name: str, overlaps: dict[str, int]) -> str | None:
    """One note for the voxels covered by several segments (None when there were none)."""
    if not overlaps:
        return None
    listed = "; ".join(f"{label}: {count:,} voxels" for label, count in overlaps.items())
    return (f"{name}: segments overlap, and a voxel can hold one class: the later segment wins ({listed} "
            "taken over from earlier segments).")


def label_table(names: dict[int, str], colors: dict[int, tuple[int, int, int] | None], mapping: dict[int, int],
                source_format: str) -> LabelTable:
    """The label table of a SEG's segments or an RTSTRUCT's ROIs, by class index (0: background)."""
    entries: dict[int, LabelEntry] = {0: LabelEntry(0, "background", (0, 0, 0))}
    for number, label in names.items():  # two segments of one name share its class: the first names it
        entries.setdefault(mapping[number], LabelEntry(mapping[number], label, colors.get(number)))
    return LabelTable(entries.values(), source_format)
