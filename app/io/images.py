"""Read one image file (or DICOM series) with SimpleITK, verified complete, with its provenance.

Formats are chosen from the file name, and SimpleITK is told which reader to use, so random bytes
named ``.nii.gz`` give "not a NIfTI file" rather than a guess. A DICOM series is a directory; a
directory holding several series reads the one with the most files (the others are listed in the
messages) unless one is chosen with ``DIR::SERIES_INSTANCE_UID`` (a path containing ``::`` that exists
is taken literally).

Before any pixel is decoded: the path must be a UTF-8 name of a regular file or directory
(:mod:`app.io.paths`), the declared size must fit the memory limit (:mod:`app.io.limits`) and the
voxel size must be finite and positive. The completeness check (:mod:`app.io.integrity`, which
decompresses gzip payloads end to end) runs in a thread beside SimpleITK's read.
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
from app.io.arrays import read_npy
from app.io.dicom import read_dicom_series, series_of_file
from app.io.geometry import Geometry
from app.io.header_reads import read_header
from app.io.integrity import verify_complete
from app.io.limits import check_declared_size
from app.io.nifti import NonFiniteScan, bad_voxel_size, raw_has_non_finite, read_nifti_header
from app.io.paths import SERIES_SEPARATOR, check_input_path, split_series_spec
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
# SimpleITK raises RuntimeError; a message quoting binary header bytes surfaces as UnicodeDecodeError.
_READER_ERRORS = (RuntimeError, UnicodeError)
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
    non_finite : bool
        The file holds NaN or ±Inf voxels that SimpleITK read as 0 (float NIfTI); a mask is refused.
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
    non_finite: bool = False

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


def read_image(spec: str | Path, role: str, *, max_voxels: int | None = None, mask: bool = False) -> ReadImage:
    """Read and verify one input.

    Parameters
    ----------
    spec : str or Path
        A file, a DICOM directory, or ``DIR::SERIES_INSTANCE_UID``.
    role : str
        How messages name this input, e.g. ``"ground truth"``.
    max_voxels : int, optional
        Refuse a larger declared volume (default: what available memory allows, see
        :func:`app.io.limits.check_declared_size`).
    mask : bool
        The input is a mask: float NIfTI voxels are scanned for NaN/±Inf (``ReadImage.non_finite``),
        which SimpleITK would read as 0. Images are not scanned (NaN is a valid intensity).

    Raises
    ------
    InputError
        Missing, unreadable, corrupt or unsupported file, or one too large (the message names the file).
    """
    text, series_uid = split_series_spec(str(spec))
    path = Path(text)
    check_input_path(path, role, directory_allowed=True)
    format_name = format_of(path)
    if format_name == DICOM_FORMAT:
        if path.is_file() and series_uid is None:
            series_uid = series_of_file(path, role)
        directory = path if path.is_dir() else path.parent
        image, files, details, messages = read_dicom_series(directory, series_uid, role, max_voxels)
        return ReadImage(image, None, DICOM_FORMAT, True, files, details=details, messages=messages)
    if series_uid is not None:
        raise InputError(f"{role} '{path}': '{SERIES_SEPARATOR}SERIES_UID' only applies to DICOM "
                         "directories.")
    if path.is_dir():
        raise InputError(f"{role} '{path}' is a directory; pass an image file or a DICOM directory.")
    if format_name == NUMPY_FORMAT:
        return _read_numpy(path, role, max_voxels)
    return _read_file(path, format_name, role, max_voxels, mask)


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
    """The pixels of a 1x1 image of this pixel type (complex types have 2 components implicitly).

    A copy, not ``GetArrayViewFromImage``: a view does not keep its image alive, and this image dies here.
    """
    try:
        probe = sitk.Image([1, 1], pixel_id, components)
    except RuntimeError:
        probe = sitk.Image([1, 1], pixel_id)
    return sitk.GetArrayFromImage(probe)


def numpy_dtype(pixel_id: int, components: int = 1) -> np.dtype:
    """The numpy dtype of one component of a SimpleITK pixel type."""
    return _probe(pixel_id, components).dtype


def _read_file(path: Path, format_name: str, role: str, max_voxels: int | None, mask: bool) -> ReadImage:
    name = f"{role} '{path}'"
    for data_file in _detached_data_files(path):
        check_input_path(data_file, f"{name}: its data file")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO(_image_io(format_name))
    what = "NRRD" if format_name == SLICER_FORMAT else format_name
    try:
        read_header(reader)
    except _READER_ERRORS:
        raise InputError(f"{name} is not a readable {what} file (damaged, or a different format "
                         "with this name); check the file or export it again.") from None
    components = reader.GetNumberOfComponents()
    voxel_bytes_each = _probe(reader.GetPixelID(), components).nbytes
    check_declared_size(name, reader.GetSize(), voxel_bytes_each, max_voxels)
    if reader.GetDimension() not in (2, 3):
        if format_name == SLICER_FORMAT:  # several layers stored as a 4D array: say what to do about it
            metadata = {key: reader.GetMetaData(key) for key in reader.GetMetaDataKeys()}
            segment_label_table(metadata, str(path), reader.GetNumberOfComponents(), reader.GetDimension())
        size = "x".join(str(n) for n in reader.GetSize())
        raise InputError(f"{name} is {reader.GetDimension()}D ({size}); DiceLens reads 2D and 3D images "
                         "(one label per voxel): pass a single volume, e.g. one time point or one channel.")
    voxel_bytes = math.prod(reader.GetSize()) * voxel_bytes_each
    metadata = {key: reader.GetMetaData(key) for key in reader.GetMetaDataKeys()}
    header = read_nifti_header(path) if what == "NIfTI" else None
    _require_valid_spacing(name, what, reader.GetSpacing(), header)
    if not all(math.isfinite(v) for v in reader.GetDirection()):
        raise InputError(f"{name} has an invalid orientation (direction {reader.GetDirection()}) in its {what} "
                         "header, e.g. a zero-length axis vector; fix the header or export the file again.")
    vox_offset = int(float(metadata.get("vox_offset", 0))) if what == "NIfTI" else None
    scan = NonFiniteScan(header) if mask and header is not None and header.float_dtype is not None else None
    gzip_scan = scan if path.name.lower().endswith(".gz") else None
    image = _read_beside(reader, lambda: verify_complete(path, what, voxel_bytes, vox_offset, name=name,
                                                         on_data=gzip_scan), name, what)
    non_finite = scan is not None and (scan.found if gzip_scan is not None else raw_has_non_finite(path, header))
    files = source_files(path)
    palette = _png_palette(path) if format_name == "PNG" and components > 1 else None
    return ReadImage(image, None, format_name, True, files,
                     metadata=metadata if what == "NRRD" else {}, palette=palette, non_finite=non_finite)


def _read_beside(reader: sitk.ImageFileReader, verify, name: str, what: str) -> sitk.Image:
    """SimpleITK's read with ``verify()`` running in a thread beside it; a verification failure wins.

    Both release the GIL (zlib and ITK): with an idle core the second decompression hides behind the
    read; on a busy machine it costs its CPU time, about half the read's for a CT label volume
    (``bench/gzip_verify.py`` measures both).
    """
    failure: list[BaseException] = []

    def run_verify() -> None:
        try:
            verify()
        except BaseException as error:  # re-raised in the caller's thread below
            failure.append(error)

    worker = threading.Thread(target=run_verify, name="dicelens-verify", daemon=True)
    worker.start()
    image, read_error = None, None
    try:
        image = reader.Execute()
    except _READER_ERRORS as error:
        read_error = error
    finally:
        worker.join()
    if failure:
        raise failure[0]
    if read_error is not None:
        text = str(read_error).strip()
        reason = text.splitlines()[-1] if text else "unknown reason"
        raise InputError(f"{name} could not be read as {what} ({reason}); it is probably damaged: "
                         "export or copy it again.") from None
    return image


def _require_valid_spacing(name: str, what: str, spacing, header) -> None:
    """Refuse a voxel size that is not finite and positive (SimpleITK would make a NIfTI one 1 mm)."""
    if header is not None:
        problem = bad_voxel_size(header)
        if problem is not None:
            raise InputError(f"{name} has an invalid voxel size in its NIfTI header ({problem}); SimpleITK "
                             "would silently use 1 mm, changing every volume and distance. Fix the header's "
                             "pixdim (e.g. with nibabel: img.header.set_zooms(...)) or export the file again.")
        return
    if not all(math.isfinite(v) and v > 0 for v in spacing):
        shown = ", ".join(f"{v:g}" for v in spacing)
        raise InputError(f"{name} has an invalid voxel size ({shown}) in its {what} header; spacing must be "
                         "finite and positive. Fix the header's spacing or export the file again.")


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
                return [candidate] if candidate.exists() else []
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


def _read_numpy(path: Path, role: str, max_voxels: int | None) -> ReadImage:
    array = read_npy(path, f"{role} '{path}'", max_voxels, "Save it with numpy.save (no pickled objects).")
    if array.ndim not in (2, 3):
        raise InputError(f"{role} '{path}' holds an array of shape {array.shape}; "
                         "a .npy mask must be 2D (y, x) or 3D (z, y, x).")
    return ReadImage(None, array, NUMPY_FORMAT, False, [path],
                     messages=[f"{role} '{path.name}' (.npy) has no spacing or origin"])
