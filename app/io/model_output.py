"""Model output (class probabilities or logits) as read from disk, checked in one threaded pass.

Layouts (see docs/architecture.md §6 for the order of checks every input goes through):

- nnU-Net's ``.npz`` (array ``probabilities``) or a ``.npy``: ``(C, z, y, x)``, classes first, the
  axis order of the masks' arrays; 2D cases may omit z.
- 4D NIfTI / NRRD (read with SimpleITK): the class axis **last** in the file (NIfTI's 4th dimension,
  ``x, y, z, class``), or **first** (``class, x, y, z``, as NRRD stores a per-voxel vector). Which one
  was assumed is decided by which matches the masks' shape, and said in :attr:`ModelOutput.messages`.

Memory: the values keep the file's dtype (float16 stays float16); nothing converts the volume to
float32. Checks (finite values; probabilities within [0, 1] and summing to 1 per voxel, within
:data:`PROBABILITY_TOLERANCE`) run in one threaded pass over the slices
(:func:`dice_engine.soft_checks.check_scores`, which also derives the argmax or the agreement with a given
mask), so the only extra memory is one chunk's working copy per thread. Probabilities, softmax and sigmoid
are derived per slab by
:class:`dice_engine.soft.ClassProbabilities`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.arrays import read_npy, read_npz_member
from app.io.header_reads import read_header
from app.io.integrity import verify_complete
from app.io.labels import LabelTable
from app.io.limits import check_declared_size
from app.io.model_prediction import DECISIVE_PROBABILITY, FOREGROUND_THRESHOLD
from app.io.paths import check_input_path

PROBABILITY_TOLERANCE = 1e-3
"""Allowed deviation from [0, 1] and from a per-voxel sum of 1 (float16 exports round)."""

SCORE_KINDS = ("probs", "logits")

_IMAGE_ENDINGS = {".nii": "NIfTI", ".nii.gz": "NIfTI", ".nrrd": "NRRD", ".nhdr": "NRRD"}


@dataclass
class ModelOutput:
    """Class scores of one case, classes first, in the file's own dtype.

    Attributes
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` floating point, the file's dtype (possibly a non-contiguous view of it).
    kind : {"probs", "logits"}
    format : str
        ``"NumPy probabilities"``, ``"NIfTI logits"``...
    messages : list of str
        What was assumed (the class axis of a 4D image).
    prediction : np.ndarray or None
        ``(z, y, x)`` uint8 (int16 beyond 256 classes) argmax over the classes (of the softmax, for logits),
        from the checks' pass when asked for (``with_prediction``) and the scores have several channels.
    disagreement : tuple of 3 int or None
        Where the predicted mask given as ``agree_with`` disagrees with the scores, from the checks' pass
        (:func:`dice_engine.soft_probabilities.disagreement`'s counts, probabilities or logits).
    """

    scores: np.ndarray
    kind: str
    format: str
    messages: list[str] = field(default_factory=list)
    prediction: np.ndarray | None = None
    disagreement: tuple[int, int, int] | None = None


def option_of(kind: str) -> str:
    """The command-line option of a score kind: ``--probs`` or ``--logits``."""
    if kind not in SCORE_KINDS:
        raise ValueError(f"kind must be one of {SCORE_KINDS}, got {kind!r}")
    return "--probs" if kind == "probs" else "--logits"


def read_model_output(path: str | Path, kind: str, shape_zyx: tuple[int, int, int], num_classes: int, *,
                      labels: LabelTable | None = None, max_voxels: int | None = None,
                      with_prediction: bool = False, agree_with: np.ndarray | None = None) -> ModelOutput:
    """Read and check a model's class scores for masks of shape ``shape_zyx``.

    Parameters
    ----------
    path : str or Path
        ``.npz`` / ``.npy`` ``(C, z, y, x)``, or a 4D ``.nii``/``.nii.gz``/``.nrrd``/``.nhdr``.
    kind : {"probs", "logits"}
        Probabilities are range- and sum-checked; logits only for finite values.
    shape_zyx : tuple of 3 int
        The masks' shape.
    num_classes : int
        Classes found in the masks (and label table): several channels must cover them; a single
        channel (binary foreground) needs ``num_classes <= 2``.
    labels : LabelTable, optional
        A label table given by the user: the channel count must equal its size (a single channel
        needs a two-entry table).
    max_voxels : int, optional
        Size limit override (:func:`app.io.limits.check_declared_size`).
    with_prediction : bool
        Also derive the argmax in the checks' pass (:attr:`ModelOutput.prediction`), for a case scored
        without a predicted mask.
    agree_with : np.ndarray, optional
        ``(z, y, x)`` labels of the predicted mask given beside the scores: the scores are compared with
        it in the checks' pass (:attr:`ModelOutput.disagreement`, for
        :func:`app.io.model_prediction.agreement_warning`).

    Returns
    -------
    ModelOutput

    Raises
    ------
    InputError
        Unreadable file, wrong shape, class count not matching, NaN/Inf, probabilities out of range
        or not summing to one. One message naming the file, the problem and what to do.
    """
    option = option_of(kind)
    path = Path(path)
    name = f"{option} '{path}'"
    check_input_path(path, option)
    image_format = _image_format(path)
    messages: list[str] = []
    if image_format is None:
        scores = _read_numpy_scores(path, name, max_voxels)
        file_format = "NumPy"
    else:
        scores = _read_image_scores(path, name, image_format, max_voxels)
        file_format = image_format
    if scores.dtype.kind != "f":
        raise InputError(f"{name} holds {scores.dtype} values; class scores must be floating point.")
    if image_format is None:
        scores = _classes_first_numpy(scores, name, shape_zyx)
    else:
        scores, assumed = _classes_first_image(scores, name, shape_zyx)
        messages.append(f"{name}: {assumed}")
    _check_class_count(scores.shape[0], num_classes, labels, name)
    scan = check_values(scores, kind, name, argmax=with_prediction, agree_with=agree_with)
    return ModelOutput(scores, kind, f"{file_format} {'probabilities' if kind == 'probs' else 'logits'}",
                       messages, scan.prediction, scan.disagreement)


def check_values(scores: np.ndarray, kind: str, name: str, *, argmax: bool = False,
                 agree_with: np.ndarray | None = None):
    """Refuse NaN/Inf, and for probabilities values outside [0, 1] or not summing to one, in one pass.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` floating point.
    kind : {"probs", "logits"}
    name : str
        How messages name the file, e.g. ``"--probs 'case.npz'"``.
    argmax : bool
        Derive the argmax over the classes in the same pass (several channels only; for logits the argmax
        of their softmax, as float64 decides it).
    agree_with : np.ndarray, optional
        ``(z, y, x)`` labels of a predicted mask: count where it disagrees with the scores' prediction in the
        same pass (see :func:`dice_engine.soft_checks.check_scores`).

    Returns
    -------
    dice_engine.soft_scan.ScanResult
        The pass's figures: ``prediction`` (``(z, y, x)`` uint8, int16 beyond 256 classes) when asked for
        and derivable, ``disagreement`` when ``agree_with`` was given.

    Raises
    ------
    InputError
    """
    from app.engine_import import import_engine

    import_engine()   # torch: only once there are scores to check (and this may run on a lane's thread)
    from dice_engine.soft_checks import check_scores

    scan = check_scores(scores, from_logits=kind == "logits", argmax=argmax, agree_with=agree_with,   # one pass
                        decisive=DECISIVE_PROBABILITY, threshold=FOREGROUND_THRESHOLD)   # over the file's bits
    if scan.first_nonfinite_slice is not None:
        raise InputError(f"{name} contains NaN or infinite values (first in slice z = "
                         f"{scan.first_nonfinite_slice}); check the model export.")
    low, high, worst = scan.low, scan.high, scan.worst_sum_error
    if kind != "probs":
        return scan
    if low < -PROBABILITY_TOLERANCE or high > 1 + PROBABILITY_TOLERANCE:
        raise InputError(f"{name} has values from {low:g} to {high:g}, outside [0, 1]: these look like logits; "
                         "pass them with --logits.")
    if worst > PROBABILITY_TOLERANCE:
        raise InputError(f"{name}: the class probabilities do not sum to one at every voxel (off by up to "
                         f"{worst:.3g}, more than {PROBABILITY_TOLERANCE:g}); pass softmax outputs, or raw scores "
                         "with --logits.")
    return scan


def _image_format(path: Path) -> str | None:
    lowered = path.name.lower()
    for ending, format_name in sorted(_IMAGE_ENDINGS.items(), key=lambda item: -len(item[0])):
        if lowered.endswith(ending):
            return format_name
    return None


def _read_numpy_scores(path: Path, name: str, max_voxels: int | None) -> np.ndarray:
    advice = "Save the scores again with numpy.save / numpy.savez (numeric arrays, no pickled objects)."
    with path.open("rb") as stream:
        is_zip = stream.read(4) == b"PK\x03\x04"
    if is_zip or path.name.lower().endswith(".npz"):
        return read_npz_member(path, name, max_voxels, advice, channels_first=True)
    return read_npy(path, name, max_voxels, advice, channels_first=True)


def _read_image_scores(path: Path, name: str, format_name: str, max_voxels: int | None) -> np.ndarray:
    """The array of a 4D (or 3D vector) NIfTI/NRRD, as SimpleITK orders it (reversed file axes)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO("NiftiImageIO" if format_name == "NIfTI" else "NrrdImageIO")
    try:
        read_header(reader)
    except (RuntimeError, UnicodeError):
        raise InputError(f"{name} is not a readable {format_name} file (damaged, or a different format with "
                         "this name); check the file or export it again.") from None
    size, components = reader.GetSize(), reader.GetNumberOfComponents()
    if not (len(size) == 4 and components == 1) and not (len(size) == 3 and components > 1):
        shape = "x".join(str(n) for n in size)
        raise InputError(f"{name} is {len(size)}D ({shape}, {components} component(s) per voxel); model output "
                         "must be 4D: one volume per class, the class axis first or last.")
    item_bytes = sitk.GetArrayViewFromImage(sitk.Image([1] * 3, reader.GetPixelID(), components)).itemsize
    channels = components if components > 1 else min(size)   # the class axis is the shortest (first or last)
    spatial = list(size) if components > 1 else [n for i, n in enumerate(size) if i != size.index(min(size))]
    check_declared_size(name, spatial, item_bytes * channels, max_voxels)
    vox_offset = int(float(reader.GetMetaData("vox_offset"))) if format_name == "NIfTI" else None
    verify_complete(path, format_name, math.prod(size) * components * item_bytes, vox_offset, name=name)
    try:
        image = reader.Execute()
    except (RuntimeError, UnicodeError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown reason"
        raise InputError(f"{name} could not be read as {format_name} ({reason}); it is probably damaged: export "
                         "or copy it again.") from None
    return sitk.GetArrayFromImage(image)  # 4D: (class, z, y, x) or (z, y, x, class); vector: (z, y, x, class)


def _classes_first_numpy(scores: np.ndarray, name: str, shape_zyx: tuple[int, int, int]) -> np.ndarray:
    z, y, x = shape_zyx
    if scores.ndim == 3 and z == 1:
        scores = scores[:, np.newaxis]
    if scores.ndim != 4 or scores.shape[1:] != tuple(shape_zyx):
        hint = ""
        if scores.ndim == 4 and scores.shape[:3] == tuple(shape_zyx):
            hint = " It looks channels-last: move the class axis first (numpy.moveaxis(a, -1, 0))."
        raise InputError(f"{name} has shape {scores.shape}; expected (C, {z}, {y}, {x}): classes first, then the "
                         f"masks' (z, y, x) shape.{hint}")
    return scores


def _classes_first_image(scores: np.ndarray, name: str, shape_zyx: tuple[int, int, int]) -> tuple[np.ndarray, str]:
    """Classes first (a view, no copy) and which file layout was assumed."""
    shape_zyx = tuple(shape_zyx)
    last = scores.shape[1:] == shape_zyx      # file (x, y, z, class)
    first = scores.shape[:3] == shape_zyx     # file (class, x, y, z)
    if last:
        other = " (the class-first reading would also fit: check the channel count)" if first else ""
        return scores, f"assumed the class axis is the last file axis (x, y, z, class){other}; " \
                       f"{scores.shape[0]} classes"
    if first:
        return np.moveaxis(scores, -1, 0), f"assumed the class axis is the first file axis (class, x, y, z); " \
                                           f"{scores.shape[-1]} classes"
    file_shape = "x".join(str(n) for n in reversed(scores.shape))
    z, y, x = shape_zyx
    raise InputError(f"{name} is {file_shape} (file axis order); the masks are {x}x{y}x{z}: expected "
                     f"{x}x{y}x{z}xC (class axis last) or Cx{x}x{y}x{z} (class axis first).")


def _check_class_count(channels: int, num_classes: int, labels: LabelTable | None, name: str) -> None:
    if labels is not None and labels.size > 0:
        expected = labels.size
        if channels != expected and not (channels == 1 and expected == 2):
            raise InputError(f"{name} has {channels} class channels but the label table names {expected} "
                             "classes (0.." f"{expected - 1}); pass the label table of the model that wrote "
                             "these scores.")
    if channels < num_classes and not (channels == 1 and num_classes <= 2):
        raise InputError(f"{name} has {channels} class channels but the masks (and label table) have "
                         f"{num_classes} classes; pass scores for every class.")
