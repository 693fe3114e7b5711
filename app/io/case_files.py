"""Read one file of a case: a mask (any image format; a DICOM SEG or RTSTRUCT placed on its series) or the
image, each with its :class:`~app.io.sources.InputFile` record (path, checksum, format, dtype, grid).

:func:`app.io.case.load_case` reads the files of a case with these, concurrently, and checks them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.dicom_objects import DEFAULT_THRESHOLD, SEG_FORMAT, ObjectRead, SeriesReference, series_reference
from app.io.images import DICOM_FORMAT, ReadImage, numpy_dtype, read_image, sha256_of
from app.io.labels import LabelTable
from app.io.masks import intensity_array, label_array
from app.io.segnrrd import SLICER_FORMAT, segment_label_table
from app.io.sources import InputFile

ROLE_NAMES = {"gt": "ground truth", "pred": "prediction", "image": "image"}


@dataclass
class LoadedMask:
    """One mask as read: the reader's result, its file record, its ``(z, y, x)`` integer labels (``uint8`` or
    ``int16``), their largest label, and the label table its file carries (a ``.seg.nrrd``'s segments, a
    DICOM object's), if any."""

    read: ReadImage
    source: InputFile
    labels: np.ndarray
    highest: int
    segment_table: LabelTable | None


def dicom_reference(read: ReadImage, name: str) -> SeriesReference:
    """The series a SEG / RTSTRUCT must reference: the image as read (a DICOM series), or InputError."""
    if read.format != DICOM_FORMAT:
        raise InputError(f"{name} is {read.format}, but a DICOM SEG or RTSTRUCT mask is placed on the DICOM "
                         "series it references: pass that series' directory with --image.")
    return series_reference(read.files, read.geometry, name)


def _load_dicom_object(spec: str | Path, key: str, kind: str, reference: SeriesReference,
                       table: LabelTable | None, threshold: float, max_voxels: int | None) -> LoadedMask:
    role = ROLE_NAMES[key]
    from app.io.dicom_seg import read_seg  # highdicom loads only for DICOM objects (~0.5 s)
    from app.io.rtstruct import read_rtstruct

    if kind == SEG_FORMAT:
        found: ObjectRead = read_seg(spec, reference, role, threshold=threshold, table=table,
                                     max_voxels=max_voxels)
    else:
        found = read_rtstruct(spec, reference, role, table=table)
    image = sitk.GetImageFromArray(found.labels)
    reference.geometry.apply_to(image)
    read = ReadImage(image, None, found.format, True, [Path(spec)], details=found.details,
                     messages=found.messages)
    labels, highest = label_array(read, f"{role} '{spec}'")
    source = _input_file(spec, read, str(labels.dtype))
    return LoadedMask(read, source, labels, highest, found.table)


def load_mask(spec: str | Path, key: str, max_voxels: int | None, kind: str | None = None,
               reference: SeriesReference | None = None, table: LabelTable | None = None,
               threshold: float = DEFAULT_THRESHOLD) -> LoadedMask:
    """Read the ``key`` (``"gt"`` or ``"pred"``) mask at ``spec``; a DICOM SEG or RTSTRUCT (``kind``) is placed
    on ``reference``, the series it references. Raises InputError for what cannot be read or used."""
    if kind is not None:
        return _load_dicom_object(spec, key, kind, reference, table, threshold, max_voxels)
    role = f"{ROLE_NAMES[key]} '{spec}'"
    read = read_image(spec, ROLE_NAMES[key], max_voxels=max_voxels, mask=True)
    segment_table = None
    if read.format == SLICER_FORMAT:
        segment_table = segment_label_table(read.metadata, str(spec), read.components,
                                            read.image.GetDimension())
    labels, highest = label_array(read, role)
    return LoadedMask(read, _input_file(spec, read, _disk_dtype(read)), labels, highest, segment_table)


def load_image(spec: str | Path, max_voxels: int | None) -> tuple[ReadImage, InputFile, np.ndarray]:
    """Read the image at ``spec``: the reader's result, its file record and its ``(z, y, x)`` scalar (or
    ``(z, y, x, 3)`` uint8 RGB) array. Raises InputError for what cannot be read."""
    read = read_image(spec, "image", max_voxels=max_voxels)
    array = intensity_array(read, f"image '{spec}'")
    return read, _input_file(spec, read, str(array.dtype)), array


def _disk_dtype(read: ReadImage) -> str:
    if read.image is None:
        return str(read.array.dtype)
    return str(numpy_dtype(read.image.GetPixelID(), read.components))


def _input_file(spec: str | Path, read: ReadImage, dtype: str) -> InputFile:
    metadata = {k: v for k, v in read.metadata.items() if k.startswith(("Segment", "Segmentation_"))
                and not k.endswith("_Extent")}
    return InputFile(path=str(spec), sha256=sha256_of(read.files), format=read.format, dtype=dtype,
                     geometry=read.geometry, details=read.details,
                     files=tuple(str(f) for f in read.files), metadata=metadata)
