"""Corrected masks of a review: written to ``R/corrected/``, never over an input.

A correction is written in its source's format, pixel type and geometry by
:func:`app.io.save_mask` (atomic: temporary file in the same folder, fsync, rename), at
:meth:`app.review.folder.ReviewFolder.corrected_path`. Before writing, the path is checked against
every input of the review (:mod:`app.output_paths`), so a ``corrected/`` folder that is, say, a
symbolic link into the prediction folder is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import InputError
from app.io import InputFile, save_mask
from app.io.images import read_image, sha256_of
from app.output_paths import check_output_files, check_output_folder
from app.review.folder import ReviewFolder


def write_corrected(folder: ReviewFolder, case: str, role: str, mask: np.ndarray, source_path: str | Path, *,
                    like: InputFile | None = None) -> Path:
    """Write the corrected ``role`` mask of ``case`` to ``R/corrected/`` and return its path.

    Parameters
    ----------
    folder : ReviewFolder
        The review.
    case : str
        The case name.
    role : str
        ``"pred"`` or ``"gt"``.
    mask : np.ndarray
        ``(z, y, x)`` integer labels on the source's grid (2D sources: ``z = 1``).
    source_path : str or Path
        The file the mask was read from (the original or an earlier correction).
    like : InputFile, optional
        The source as read (``case.sources[role]`` in the window): its geometry, pixel type and
        segment metadata are written with the mask. Without it the source file's header is read
        again; DICOM sources need it (their grid is the image series').

    Raises
    ------
    InputError
        The destination would replace or lie in an input, the labels do not fit the format, the
        source cannot be read, or the folder is not writable.
    """
    target = corrected_target(folder, case, role)
    if like is None:
        like = _source(source_path, role)
    return save_mask(np.asarray(mask), target, like)


def corrected_target(folder: ReviewFolder, case: str, role: str) -> Path:
    """The corrected file of ``case``'s ``role`` mask (:meth:`ReviewFolder.corrected_path`), its folder made,
    once checked against every input of the review (a ``corrected/`` folder that is a symbolic link into an
    input folder is refused). Every save of a review goes there through this.

    Raises
    ------
    InputError
        The file would replace or lie in an input, or its folder cannot be created.
    """
    target = folder.corrected_path(case, role)
    name = f"the corrected {role} of {case}"
    folders = {"--gt-dir": folder.gt_dir, "--pred-dir": folder.pred_dir, "--image-dir": folder.image_dir}
    check_output_folder(f"the folder of {name}", target.parent, folders, {"--labels": folder.labels})
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create '{target.parent}' for the corrected mask ({error.strerror}).") from None
    check_output_files({name: target}, {**folders, "--labels": folder.labels})
    return target


def _source(path: str | Path, role: str) -> InputFile:
    """The source mask's description from its file (header, grid, pixel type, segment metadata)."""
    read = read_image(path, role, mask=True)
    dtype = str(read.array.dtype) if read.image is None else _pixel_dtype(read)
    metadata = {key: value for key, value in read.metadata.items()
                if key.startswith(("Segment", "Segmentation_")) and not key.endswith("_Extent")}
    return InputFile(path=str(path), sha256=sha256_of(read.files), format=read.format, dtype=dtype,
                     geometry=read.geometry, details=read.details, files=tuple(str(f) for f in read.files),
                     metadata=metadata)


def _pixel_dtype(read) -> str:
    from app.io.images import numpy_dtype

    return str(numpy_dtype(read.image.GetPixelID(), read.components))
