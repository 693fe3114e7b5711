"""Load a case: ground truth, prediction, optional image, label table and class scores, checked together.

The files are read concurrently (SimpleITK, hashing and numpy release the GIL), each verified
complete and validated, then the grids are compared: everything must lie on the ground truth's grid,
or with ``resample=True`` the prediction is resampled onto it (nearest neighbour, SimpleITK).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.case_files import ROLE_NAMES, LoadedMask, dicom_reference, load_image, load_mask
from app.io.dicom_objects import (
    DEFAULT_THRESHOLD,
    RTSTRUCT_FORMAT,
    SEG_FORMAT,
    SeriesReference,
    segmentation_object_kind,
    series_reference,
)
from app.io.geometry import Geometry, require_same_grid
from app.io.images import DICOM_FORMAT, sha256_of
from app.io.labels import LabelEntry, LabelTable, read_label_table
from app.io.masks import MAX_LABEL, label_array
from app.io.model_output import option_of, read_model_output
from app.io.model_prediction import agreement_warning, derived_prediction
from app.io.segnrrd import SLICER_FORMAT
from app.io.sources import InputFile

_RASTER_FORMATS = frozenset({"PNG", "JPEG", "BMP", "TIFF"})
"""Formats whose pixel size is optional (SimpleITK reads 1.0 when none is stored)."""


@dataclass
class Case:
    """Everything needed to score and review one segmentation.

    Attributes
    ----------
    gt, pred : np.ndarray
        ``(z, y, x)`` integer labels (``uint8``, or ``int16`` when a label is >= 256); 2D cases: z = 1.
    image : np.ndarray or None
        ``(z, y, x)`` scalars, or ``(z, y, x, 3)`` uint8 RGB for 2D colour images.
    geometry : Geometry
        The ground truth's grid (the prediction's when the ground truth is a ``.npy``).
    labels : LabelTable
        Class names and colours (possibly empty: names fall back to ``"label N"``).
    num_classes : int
        ``C``: largest label in either mask + 1 (ground-truth voxels equal to ``ignore_index`` not
        counted), or the label table's size, or the number of score channels, whichever is largest.
    sources : dict of str to InputFile
        ``"gt"``, ``"pred"`` and, when given, ``"image"``, ``"labels"``, ``"scores"``.
    scores : np.ndarray or None
        ``(C, z, y, x)`` class scores in the file's floating-point dtype (float16 stays float16).
    scores_kind : {"probs", "logits"} or None
    messages : list of str
        Notes for the user (resampling, series chosen, label table used...).
    prediction_from : {"mask", "argmax", "threshold"}
        ``pred`` is the given mask, or derived from the class scores (argmax; one channel: ``p >= 0.5``).
    """

    gt: np.ndarray
    pred: np.ndarray
    image: np.ndarray | None
    geometry: Geometry
    labels: LabelTable
    num_classes: int
    sources: dict[str, InputFile]
    scores: np.ndarray | None = None
    scores_kind: str | None = None
    messages: list[str] = field(default_factory=list)
    prediction_from: str = "mask"

    @property
    def has_physical_spacing(self) -> bool:
        """Whether the masks' files give the voxel size, so distances and positions are in millimetres.

        False when the grid comes from ``.npy`` files or from a 2D raster format (PNG, JPEG, BMP, TIFF)
        that stored no pixel size (read as 1.0): distances are then in pixels. True when the sources are
        unknown (cases built in code).
        """
        formats = [self.sources[role].format for role in ("gt", "pred") if role in self.sources]
        if not formats:
            return True
        gridded = [name for name in formats if name != "NumPy"]
        if any(name not in _RASTER_FORMATS for name in gridded):
            return True
        return bool(gridded) and tuple(self.geometry.spacing[:2]) != (1.0, 1.0)


def load_case(gt: str | Path, pred: str | Path | None, image: str | Path | None = None,
              labels: str | Path | None = None, probs: str | Path | None = None,
              logits: str | Path | None = None, resample: bool = False, *,
              ignore_index: int | None = None, max_voxels: int | None = None,
              seg_threshold: float = DEFAULT_THRESHOLD) -> Case:
    """Read, verify and cross-check the files of one case.

    Parameters
    ----------
    gt, pred : str or Path
        Ground-truth and predicted masks: a file (NIfTI, NRRD, ``.seg.nrrd``, MetaImage, PNG, TIFF,
        BMP, ``.npy``) or a DICOM directory (``DIR::SERIES_UID`` picks a series). ``pred`` may be None
        when ``probs`` or ``logits`` is given: the prediction is then the model's argmax (one channel:
        ``p >= 0.5``); when both are given, a disagreement where the model is decisive is a warning
        in ``messages`` (:mod:`app.io.model_prediction`).
    image : str or Path, optional
        The image the masks segment, for display (also JPEG and RGB).
    labels : str or Path, optional
        Label table (ITK-SNAP, 3D Slicer colour table, nnU-Net dataset.json, ``index name`` list).
        Without one, a ``.seg.nrrd``'s segments or a palette PNG's colours are used.
    probs, logits : str or Path, optional
        Class scores (``(C, z, y, x)`` ``.npz``/``.npy``, or a 4D NIfTI/NRRD), at most one of them.
    resample : bool
        Resample the prediction onto the ground-truth grid (nearest neighbour) when they differ.
    ignore_index : int, optional
        Ground-truth value meaning "not annotated"; not counted as a class in ``num_classes``.
    max_voxels : int, optional
        Refuse any input declaring more voxels, before reading it (default: the limit in the
        environment variable ``DICELENS_MAX_VOXELS``, else what available memory allows; see
        :mod:`app.io.limits`).
    seg_threshold : float
        A fractional DICOM SEG voxel belongs to a segment when its value (0..1) is >= this.

    Notes
    -----
    A DICOM SEG or RTSTRUCT mask (recognised by its SOP Class UID) needs ``image``: the DICOM series it
    references, onto whose grid it is rasterised (:mod:`app.io.dicom_seg`, :mod:`app.io.rtstruct`).

    Returns
    -------
    Case

    Raises
    ------
    InputError
        Any unreadable, corrupt or invalid input, or inputs that do not fit together.
    """
    if probs is not None and logits is not None:
        raise InputError("give class scores either as probabilities (--probs) or as logits (--logits), "
                         "not both.")
    if pred is None and probs is None and logits is None:
        raise InputError("no prediction given: pass the predicted mask with --pred, or the model's output with "
                         "--probs / --logits (its argmax is then the prediction).")
    given_table = read_label_table(labels) if labels is not None else None  # small: fail before big reads
    if given_table is not None and given_table.size - 1 > MAX_LABEL:
        raise InputError(f"label table '{labels}' names label {given_table.size - 1}; DiceLens accepts labels up "
                         f"to {MAX_LABEL}. Remove the entries beyond the labels your masks use.")
    kinds = {key: segmentation_object_kind(spec, ROLE_NAMES[key]) if spec is not None else None
             for key, spec in (("gt", gt), ("pred", pred))}
    reference = None
    if any(kinds.values()):  # a SEG / RTSTRUCT is read onto its series' grid: the image first
        loaded_image = load_image(_required_series(image, kinds, gt, pred), max_voxels)
        reference = dicom_reference(loaded_image[0], f"image '{image}'")
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="dicelens-load") as pool:
        gt_job = pool.submit(load_mask, gt, "gt", max_voxels, kinds["gt"], reference, given_table,
                             seg_threshold)
        pred_job = pool.submit(load_mask, pred, "pred", max_voxels, kinds["pred"], reference, given_table,
                               seg_threshold) if pred is not None else None
        image_job = pool.submit(load_image, image, max_voxels) if image is not None and reference is None else None
        loaded_gt = gt_job.result()
        loaded_pred = pred_job.result() if pred_job is not None else loaded_gt  # replaced by the model's below
        if image_job is not None:
            loaded_image = image_job.result()
        elif reference is None:
            loaded_image = None
    messages = loaded_gt.read.messages + (loaded_pred.read.messages if pred is not None else [])
    geometry = _case_geometry(loaded_gt, loaded_pred, resample, messages)
    sources = {"gt": loaded_gt.source, "pred": loaded_pred.source}
    image_array = None
    if loaded_image is not None:
        read, sources["image"], image_array = loaded_image
        messages += read.messages
        _require_on_grid(geometry, read.geometry, read.has_geometry, f"image '{image}'", loaded_gt)
    table = _label_table(labels, given_table, loaded_gt, loaded_pred, sources, messages)
    num_classes = count_classes(loaded_gt.labels, loaded_pred.labels, table, ignore_index,
                                maxima=(loaded_gt.highest, loaded_pred.highest))
    scores, kind, prediction_from = None, None, "mask"
    if probs is not None or logits is not None:
        kind, score_path = ("probs", probs) if probs is not None else ("logits", logits)
        output = read_model_output(score_path, kind, geometry.shape_zyx, num_classes, labels=given_table,
                                   max_voxels=max_voxels, with_prediction=pred is None,
                                   agree_with=loaded_pred.labels if pred is not None else None)
        scores = output.scores
        messages += output.messages
        name = f"{option_of(kind)} '{score_path}'"
        if pred is None:
            pred_labels, note = derived_prediction(scores, kind, name, output.prediction)
            prediction_from = "threshold" if scores.shape[0] == 1 else "argmax"
            how = "argmax" if prediction_from == "argmax" else "p >= 0.5"
            loaded_pred = LoadedMask(loaded_gt.read, InputFile(str(score_path), "", f"{output.format} ({how})",
                                                                dtype=str(pred_labels.dtype)),
                                      pred_labels, int(pred_labels.max(initial=0)), None)
            messages.append(note)
        else:
            warning = agreement_warning(scores, kind, loaded_pred.labels, name, f"prediction '{pred}'",
                                        output.disagreement)
            if warning is not None:
                messages.append(warning)
        num_classes = max(num_classes, scores.shape[0] if scores.shape[0] > 1 else 2)
        sources["scores"] = InputFile(str(score_path), sha256_of([Path(score_path)]), output.format,
                                      dtype=str(scores.dtype), details=f"{scores.shape[0]} classes")
        if pred is None:
            sources["pred"] = InputFile(str(score_path), sources["scores"].sha256, loaded_pred.source.format,
                                        dtype=loaded_pred.source.dtype, details="derived from the model output",
                                        geometry=sources["gt"].geometry)   # saved on the ground truth's grid
    return Case(gt=loaded_gt.labels, pred=loaded_pred.labels, image=image_array, geometry=geometry,
                labels=table, num_classes=num_classes, sources=sources, scores=scores, scores_kind=kind,
                messages=messages, prediction_from=prediction_from)


def count_classes(gt: np.ndarray, pred: np.ndarray, table: LabelTable, ignore_index: int | None = None,
                  *, maxima: tuple[int, int] | None = None) -> int:
    """``C``: largest label in either mask + 1 (GT's ``ignore_index`` left out), or the table's size.

    Parameters
    ----------
    gt, pred : np.ndarray
        Integer label maps.
    table : LabelTable
        Its entries count too (except one named for ``ignore_index``).
    ignore_index : int, optional
        Ground-truth value that is not a class.
    maxima : (int, int), optional
        The largest label of ``gt`` and of ``pred`` when already known (saves two passes).
    """
    gt_max, pred_max = maxima if maxima is not None else (int(gt.max(initial=0)), int(pred.max(initial=0)))
    if ignore_index is not None and gt_max == ignore_index:
        gt_max = int(np.max(gt, where=gt != ignore_index, initial=0))
    table_size = max((i for i in table.indices() if i != ignore_index), default=-1) + 1
    return max(gt_max + 1, pred_max + 1, table_size)


def dicom_series(case: Case) -> SeriesReference:
    """The DICOM series a SEG written for ``case`` references: its image (headers read again, no pixels).

    Raises
    ------
    InputError
        The case has no image, or its image is not a DICOM series.
    """
    image = case.sources.get("image")
    if image is None or image.format != DICOM_FORMAT:
        shown = f"is {image.format}" if image is not None else "was not given"
        raise InputError(f"a DICOM SEG references the DICOM image series it segments, but this case's image "
                         f"{shown}; open the case with its DICOM series as the image (--image DIR).")
    return series_reference([Path(f) for f in image.files], case.geometry, f"image '{image.path}'")


def _required_series(image: str | Path | None, kinds: dict[str, str | None], gt, pred) -> str | Path:
    if image is None:
        key = "gt" if kinds["gt"] else "pred"
        spec = gt if key == "gt" else pred
        raise InputError(f"{ROLE_NAMES[key]} '{spec}' is a {kinds[key]} object; pass the DICOM series it "
                         "references with --image DIR (DIR::SERIES_UID when the folder holds several).")
    return image


def _case_geometry(gt: LoadedMask, pred: LoadedMask, resample: bool, messages: list[str]) -> Geometry:
    """The case's grid; resamples the prediction onto it when asked and needed."""
    gt_name, pred_name = f"ground truth '{gt.source.path}'", f"prediction '{pred.source.path}'"
    if not (gt.read.has_geometry and pred.read.has_geometry):
        reference = gt.read if gt.read.has_geometry else pred.read
        if gt.labels.shape != pred.labels.shape:
            raise InputError(f"{pred_name} has shape {pred.labels.shape} (z, y, x) but {gt_name} has "
                             f"{gt.labels.shape}; a .npy mask must have the other mask's shape.")
        if reference.has_geometry:
            messages.append(f"the .npy mask was given the grid of '{reference.files[0].name}'")
        return reference.geometry
    reference, other = gt.read.geometry, pred.read.geometry
    if not reference.differences(other):
        return reference
    if not resample:
        require_same_grid(reference, other, gt_name, pred_name, can_resample=True)
    if gt.read.image.GetDimension() != pred.read.image.GetDimension():
        raise InputError(f"{pred_name} is {pred.read.image.GetDimension()}D and {gt_name} is "
                         f"{gt.read.image.GetDimension()}D; resampling needs masks of the same dimension.")
    resampled = sitk.Resample(pred.read.image, gt.read.image, sitk.Transform(), sitk.sitkNearestNeighbor, 0,
                              pred.read.image.GetPixelID())
    pred.read.image = resampled
    pred.labels, pred.highest = label_array(pred.read, pred_name)
    messages.append(f"prediction resampled onto the ground-truth grid (nearest neighbour): it had "
                    f"{other.describe()}")
    return reference


def _require_on_grid(reference: Geometry, geometry: Geometry, has_geometry: bool, name: str,
                     gt: LoadedMask) -> None:
    if has_geometry and gt.read.has_geometry:
        require_same_grid(reference, geometry, f"ground truth '{gt.source.path}'", name, can_resample=False)
    elif geometry.shape_zyx != reference.shape_zyx:
        raise InputError(f"{name} has shape {geometry.shape_zyx} (z, y, x) but the masks have "
                         f"{reference.shape_zyx}.")


def _note_differing_segment_names(gt: LabelTable | None, pred: LabelTable | None, messages: list[str]) -> None:
    """When both masks are DICOM objects whose class numbers carry different names, say so: the scores
    compare numbers, and tools number segments differently (``--labels`` matches them by name)."""
    if not gt or not pred or {gt.source_format, pred.source_format} - {SEG_FORMAT, RTSTRUCT_FORMAT}:
        return
    differing = [f"{i}: '{gt.name(i)}' / '{pred.name(i)}'" for i in sorted(set(gt.indices()) & set(pred.indices()))
                 if gt.name(i).strip().casefold() != pred.name(i).strip().casefold()]
    if differing:
        messages.append(f"the ground truth and the prediction name their classes differently (class: ground truth / "
                        f"prediction) {'; '.join(differing)}; the scores compare class numbers. Pass --labels with "
                        "the names to match them by name.")


def _label_table(labels: str | Path | None, table: LabelTable | None, gt: LoadedMask, pred: LoadedMask,
                 sources: dict[str, InputFile], messages: list[str]) -> LabelTable:
    """The given table, else the .seg.nrrd's segments, else a palette PNG's colours, else an empty table."""
    segment_table = gt.segment_table or pred.segment_table
    if table is not None:
        sources["labels"] = InputFile(str(labels), sha256_of([Path(labels)]), table.source_format)
        if segment_table is not None:
            if segment_table.source_format == SLICER_FORMAT:
                messages.append(f"label names from '{labels}' (the .seg.nrrd segment names were not used)")
        return table
    if segment_table is not None:
        _note_differing_segment_names(gt.segment_table, pred.segment_table, messages)
        return segment_table
    palette = gt.read.palette or pred.read.palette
    if palette is not None:
        used = max(int(gt.labels.max()), int(pred.labels.max())) + 1
        entries = (LabelEntry(i, "", colour) for i, colour in enumerate(palette[:used]))
        return LabelTable(entries, "PNG palette")
    return LabelTable()
