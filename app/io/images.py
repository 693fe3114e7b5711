"""Read one image file (or DICOM series) with SimpleITK, verified complete, with its provenance.

Formats are chosen from the file name, and SimpleITK is told which reader to use, so random bytes
named ``.nii.gz`` give "not a NIfTI file" rather than a guess. A DICOM series is a directory; a
directory holding several series reads the one with the most files (the others are listed in the
messages) unless one is chosen with ``DIR::SERIES_INSTANCE_UID``.
"""

from __future__ import annotations

import hashlib
import math
import struct
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.geometry import Geometry
from app.io.integrity import verify_complete
from app.io.segnrrd import SLICER_FORMAT, segment_label_table

# (file name ending, format name, SimpleITK ImageIO); longest endings first.
_FORMATS = (
    (".seg.nrrd", SLICER_FORMAT, "NrrdImageIO"),
    (".nii.gz", "NIfTI", "NiftiImageIO"),
    (".nii", "NIfTI", "NiftiImageIO"),
    (".nrrd", "NRRD", "NrrdImageIO"),
    (".nhdr", "NRRD", "NrrdImageIO"),
    (".mha", "MetaImage", "MetaImageIO"),
    (".mhd", "MetaImage", "MetaImageIO"),
    (".png", "PNG", "PNGImageIO"),
    (".tif", "TIFF", "TIFFImageIO"),
    (".tiff", "TIFF", "TIFFImageIO"),
    (".jpg", "JPEG", "JPEGImageIO"),
    (".jpeg", "JPEG", "JPEGImageIO"),
    (".bmp", "BMP", "BMPImageIO"),
    (".dcm", "DICOM series", "GDCMImageIO"),
)
NUMPY_FORMAT = "NumPy"
DICOM_FORMAT = "DICOM series"
SERIES_SEPARATOR = "::"
# SimpleITK raises RuntimeError; a message quoting binary header bytes surfaces as UnicodeDecodeError.
_READER_ERRORS = (RuntimeError, UnicodeError)
_GLOBAL_WARNINGS_LOCK = threading.Lock()
SUPPORTED_ENDINGS = ", ".join(ending for ending, _, _ in _FORMATS) + ", .npy, or a DICOM directory"
READABLE_ENDINGS = tuple(sorted({ending for ending, _, _ in _FORMATS} | {".npy"}, key=len, reverse=True))
"""Every file name ending :func:`read_image` understands, longest first (``.seg.nrrd`` before ``.nrrd``)."""


@dataclass
class ReadImage:
    """An image as read from disk, before any mask/image interpretation.

    Attributes
    ----------
    image : sitk.Image or None
        The pixels (None for ``.npy``, whose data is in ``array``).
    array : np.ndarray or None
        ``.npy`` data as stored (2D ``(y, x)`` or 3D ``(z, y, x)``).
    format : str
        Format name, e.g. ``"NIfTI"``, ``"DICOM series"``, ``"NumPy"``.
    has_geometry : bool
        False for ``.npy`` (no spacing/origin/direction stored).
    metadata : dict
        Reader metadata (NRRD header keys such as ``Segment0_Name``); empty for other formats.
    palette : list of (r, g, b) or None
        The colour palette of an indexed PNG, whose pixels SimpleITK expands to RGB.
    details : str
        Extra provenance, e.g. which DICOM series was read.
    files : list of Path
        The files the data came from (several for DICOM and ``.nhdr``/``.mhd``).
    messages : list of str
        Notes for the user.
    """

    image: sitk.Image | None
    array: np.ndarray | None
    format: str
    has_geometry: bool
    files: list[Path]
    metadata: dict[str, str] = field(default_factory=dict)
    palette: list[tuple[int, int, int]] | None = None
    details: str = ""
    messages: list[str] = field(default_factory=list)

    @property
    def geometry(self) -> Geometry:
        """The voxel grid (unit spacing at the origin for ``.npy``)."""
        if self.image is not None:
            return Geometry.from_image(self.image)
        shape = self.array.shape
        return Geometry.from_shape(shape if len(shape) == 3 else (1, *shape))

    @property
    def components(self) -> int:
        """Channels per pixel (1 for scalar images, 3 for RGB...)."""
        return self.image.GetNumberOfComponentsPerPixel() if self.image is not None else 1


def format_of(path: str | Path) -> str:
    """Format name for a path (by its ending; a directory is a DICOM series), or raise InputError."""
    path = Path(path)
    if path.is_dir():
        return DICOM_FORMAT
    name = path.name.lower()
    if name.endswith(".npy"):
        return NUMPY_FORMAT
    for ending, format_name, _ in _FORMATS:
        if name.endswith(ending):
            return format_name
    raise InputError(f"'{path}': DiceLens cannot tell the format from the name; use one of "
                     f"{SUPPORTED_ENDINGS}.")


def read_image(spec: str | Path, role: str) -> ReadImage:
    """Read and verify one input.

    Parameters
    ----------
    spec : str or Path
        A file, a DICOM directory, or ``DIR::SERIES_INSTANCE_UID``.
    role : str
        How messages name this input, e.g. ``"ground truth"``.

    Raises
    ------
    InputError
        Missing, unreadable, corrupt or unsupported file (the message names the file).
    """
    text = str(spec)
    series_uid = None
    if SERIES_SEPARATOR in text:
        text, series_uid = text.split(SERIES_SEPARATOR, 1)
    path = Path(text)
    if not path.exists():
        raise InputError(f"{role} '{path}' does not exist.")
    format_name = format_of(path)
    if format_name == DICOM_FORMAT:
        if path.is_file() and series_uid is None:
            series_uid = _series_of_file(path, role)
        return _read_dicom_series(path if path.is_dir() else path.parent, series_uid, role)
    if series_uid is not None:
        raise InputError(f"{role} '{path}': '{SERIES_SEPARATOR}SERIES_UID' only applies to DICOM "
                         "directories.")
    if format_name == NUMPY_FORMAT:
        return _read_numpy(path, role)
    return _read_file(path, format_name, role)


def sha256_of(paths: list[Path]) -> str:
    """SHA-256 of the files' bytes, in order (for several files, also of their names)."""
    digest = hashlib.sha256()
    for path in paths:
        if len(paths) > 1:
            digest.update(path.name.encode() + b"\0")
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _image_io(format_name: str) -> str:
    return next(io for _, name, io in _FORMATS if name == format_name)


def _probe(pixel_id: int, components: int) -> np.ndarray:
    """The pixels of a 1x1 image of this pixel type (complex types have 2 components implicitly)."""
    try:
        probe = sitk.Image([1, 1], pixel_id, components)
    except RuntimeError:
        probe = sitk.Image([1, 1], pixel_id)
    return sitk.GetArrayViewFromImage(probe)


def numpy_dtype(pixel_id: int, components: int = 1) -> np.dtype:
    """The numpy dtype of one component of a SimpleITK pixel type."""
    return _probe(pixel_id, components).dtype


def _read_file(path: Path, format_name: str, role: str) -> ReadImage:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO(_image_io(format_name))
    what = "NRRD" if format_name == SLICER_FORMAT else format_name
    try:
        reader.ReadImageInformation()
    except _READER_ERRORS:
        raise InputError(f"{role} '{path}' is not a readable {what} file (damaged, or a different format "
                         "with this name); check the file or export it again.") from None
    if reader.GetDimension() not in (2, 3):
        if format_name == SLICER_FORMAT:  # several layers stored as a 4D array: say what to do about it
            metadata = {key: reader.GetMetaData(key) for key in reader.GetMetaDataKeys()}
            segment_label_table(metadata, str(path), reader.GetNumberOfComponents(), reader.GetDimension())
        size = "x".join(str(n) for n in reader.GetSize())
        raise InputError(f"{role} '{path}' is {reader.GetDimension()}D ({size}); DiceLens reads 2D and 3D images "
                         "(one label per voxel): pass a single volume, e.g. one time point or one channel.")
    components = reader.GetNumberOfComponents()
    voxel_bytes = math.prod(reader.GetSize()) * _probe(reader.GetPixelID(), components).nbytes
    metadata = {key: reader.GetMetaData(key) for key in reader.GetMetaDataKeys()}
    vox_offset = int(float(metadata.get("vox_offset", 0))) if what == "NIfTI" else None
    verify_complete(path, what, voxel_bytes, vox_offset, name=f"{role} '{path}'")
    try:
        image = reader.Execute()
    except _READER_ERRORS as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown reason"
        raise InputError(f"{role} '{path}' could not be read as {what} ({reason}); it is probably damaged: "
                         "export or copy it again.") from None
    files = source_files(path)
    palette = _png_palette(path) if format_name == "PNG" and components > 1 else None
    return ReadImage(image, None, format_name, True, files,
                     metadata=metadata if what == "NRRD" else {}, palette=palette)


def source_files(path: str | Path) -> list[Path]:
    """The files an image at ``path`` consists of: itself, plus the data file of a ``.nhdr``/``.mhd`` header.

    Their bytes, in this order, are what an input's sha256 covers (:func:`sha256_of`).
    """
    path = Path(path)
    return [path, *_detached_data_files(path)]


def _detached_data_files(path: Path) -> list[Path]:
    """The data file of a ``.nhdr``/``.mhd`` header, so it is part of the input's hash."""
    if path.suffix.lower() not in (".nhdr", ".mhd"):
        return []
    key = "data file" if path.suffix.lower() == ".nhdr" else "ElementDataFile"
    with path.open("rb") as stream:
        for raw in stream:
            line = raw.decode("latin-1").strip()
            name, sep, value = line.partition(":" if key == "data file" else "=")
            if sep and name.strip().lower() in (key.lower(), "datafile"):
                candidate = path.parent / value.lstrip("=").strip()
                return [candidate] if candidate.is_file() else []
            if not line and key == "data file":
                break
    return []


def _png_palette(path: Path) -> list[tuple[int, int, int]] | None:
    """The PLTE colours of an indexed (colour type 3) PNG, else None; only chunk headers are read."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 33 or data[25] != 3:
        return None
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"PLTE":
            crc = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0]
            if zlib.crc32(kind + body) != crc or length % 3:
                return None
            return [tuple(body[i:i + 3]) for i in range(0, length, 3)]
        offset += 12 + length
    return None


def _read_numpy(path: Path, role: str) -> ReadImage:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"{role} '{path}' is not a readable .npy array ({error}); save it with "
                         "numpy.save (no pickled objects).") from None
    if not isinstance(array, np.ndarray) or array.ndim not in (2, 3):
        raise InputError(f"{role} '{path}' holds an array of shape {getattr(array, 'shape', '?')}; "
                         "a .npy mask must be 2D (y, x) or 3D (z, y, x).")
    return ReadImage(None, array, NUMPY_FORMAT, False, [path],
                     messages=[f"{role} '{path.name}' (.npy) has no spacing or origin"])


def _require_even_slices(reader: sitk.ImageSeriesReader, image: sitk.Image, name: str) -> None:
    """A series with a missing or duplicated file has uneven slice positions: refuse it.

    The reader stacks whatever files it finds, so a lost slice would otherwise give a volume that is
    one slice short with a wrong z spacing.
    """
    count = image.GetDepth()
    if count < 3:
        return
    try:
        positions = np.array([[float(v) for v in reader.GetMetaData(i, "0020|0032").split("\\")]
                              for i in range(count)])
    except (RuntimeError, ValueError):
        return  # no Image Position (Patient) on every slice: nothing to check against
    direction = np.array(image.GetDirection()).reshape(3, 3)
    steps = np.diff(positions @ direction[:, 2])
    typical = float(np.median(steps))
    uneven = np.flatnonzero(np.abs(steps - typical) > 0.01 * abs(typical) + 1e-3)
    if typical == 0 or uneven.size:
        at = int(uneven[0]) if uneven.size else 0
        raise InputError(f"{name}: slice positions are not evenly spaced (slices {at + 1} and {at + 2} are "
                         f"{steps[at]:.4g} mm apart, the others {typical:.4g} mm): a file of the series is "
                         "missing or duplicated. Export the complete series again.")


def _series_of_file(path: Path, role: str) -> str:
    """The Series Instance UID of one DICOM file (its whole series is read)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO("GDCMImageIO")
    try:
        reader.ReadImageInformation()
        return reader.GetMetaData("0020|000e").strip().rstrip("\0")
    except _READER_ERRORS:
        raise InputError(f"{role} '{path}' is not a readable DICOM file with a Series Instance "
                         "UID.") from None


def _read_dicom_series(directory: Path, series_uid: str | None, role: str) -> ReadImage:
    if not any(path.is_file() for path in directory.iterdir()):
        raise InputError(f"{role} '{directory}' is an empty directory; pass a directory of DICOM files or an image "
                         "file.")
    with _GLOBAL_WARNINGS_LOCK:  # masks load in parallel threads; the switch is process-wide
        warnings_shown = sitk.ProcessObject.GetGlobalWarningDisplay()
        sitk.ProcessObject.SetGlobalWarningDisplay(False)  # "No Series were found" is reported below, in words
        try:
            series_ids = list(sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(directory)))
        finally:
            sitk.ProcessObject.SetGlobalWarningDisplay(warnings_shown)
    if not series_ids:
        raise InputError(f"{role} '{directory}' holds no DICOM series; pass a directory of DICOM files "
                         "or an image file.")
    files_by_series = {uid: sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(directory), uid)
                       for uid in series_ids}
    messages = []
    if series_uid is not None:
        if series_uid not in files_by_series:
            raise InputError(f"{role} '{directory}' has no DICOM series '{series_uid}'; it has: "
                             f"{', '.join(series_ids)}.")
        chosen = series_uid
    else:
        chosen = max(series_ids, key=lambda uid: len(files_by_series[uid]))
        if len(series_ids) > 1:
            others = ", ".join(f"{uid} ({len(files_by_series[uid])} files)" for uid in series_ids
                               if uid != chosen)
            messages.append(f"{role} '{directory}' holds {len(series_ids)} DICOM series; read {chosen} "
                            f"({len(files_by_series[chosen])} files), the largest. Others: {others}. "
                            f"Choose one with '{directory}{SERIES_SEPARATOR}SERIES_UID'.")
    files = [Path(name) for name in files_by_series[chosen]]
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(f) for f in files])
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        image = reader.Execute()
    except _READER_ERRORS as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown reason"
        raise InputError(f"{role} '{directory}': DICOM series {chosen} could not be read ({reason}); "
                         "a file of the series is probably damaged.") from None
    _require_even_slices(reader, image, f"{role} '{directory}' (series {chosen})")
    return ReadImage(image, None, DICOM_FORMAT, True, files, details=f"series {chosen} ({len(files)} files)",
                     messages=messages)
