"""Read a DICOM series (a directory of slice files) with SimpleITK/GDCM, checked for missing slices."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.header_reads import read_header
from app.io.limits import check_declared_size
from app.io.paths import SERIES_SEPARATOR, check_directory_entries

# SimpleITK raises RuntimeError; a message quoting binary header bytes surfaces as UnicodeDecodeError.
_READER_ERRORS = (RuntimeError, UnicodeError)
_GLOBAL_WARNINGS_LOCK = threading.Lock()


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


def series_of_file(path: Path, role: str) -> str:
    """The Series Instance UID of one DICOM file (its whole series is read)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO("GDCMImageIO")
    try:
        read_header(reader)
        return reader.GetMetaData("0020|000e").strip().rstrip("\0")
    except _READER_ERRORS:
        raise InputError(f"{role} '{path}' is not a readable DICOM file with a Series Instance "
                         "UID.") from None


def read_dicom_series(directory: Path, series_uid: str | None, role: str,
                      max_voxels: int | None = None) -> tuple[sitk.Image, list[Path], str, list[str]]:
    """Read one series of ``directory`` (``series_uid``, else the one with the most files).

    Returns
    -------
    image : sitk.Image
        The 3D volume.
    files : list of Path
        Its files, in slice order.
    details : str
        Which series was read, e.g. ``"series 1.2.3 (120 files)"``.
    messages : list of str
        Notes for the user (other series in the directory).

    Raises
    ------
    InputError
        An empty directory, one holding pipes or devices, no DICOM series, a missing series, a
        damaged file, uneven slice positions, or a volume larger than the limit.
    """
    check_directory_entries(directory, role)
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
    _check_series_size(files, f"{role} '{directory}' (series {chosen})", max_voxels)
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
    return image, files, f"series {chosen} ({len(files)} files)", messages


def _check_series_size(files: list[Path], name: str, max_voxels: int | None) -> None:
    """The declared size (first slice's rows x columns x frames, times the files) against the limit."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(files[0]))
    reader.SetImageIO("GDCMImageIO")
    try:
        read_header(reader)
    except _READER_ERRORS:
        return  # the series read below reports the damaged file
    size = list(reader.GetSize())
    size[-1] *= len(files)
    components = reader.GetNumberOfComponents()
    bytes_each = sitk.GetArrayFromImage(sitk.Image([1, 1], reader.GetPixelID(), components)).nbytes
    check_declared_size(name, size, bytes_each, max_voxels)
