"""Pair the files of a dataset: ground truth and prediction by file name, images also nnU-Net style."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.errors import InputError
from app.io import READABLE_ENDINGS
from app.report.content import case_name_from_path

NNUNET_CHANNEL_SUFFIX = "_0000"


@dataclass(frozen=True)
class CaseFiles:
    """The inputs of one case: its name (GT file name without the ending) and paths."""

    name: str
    gt: str
    pred: str
    image: str | None = None
    probs: str | None = None
    """The model's probabilities (``batch --probs-dir``, :mod:`app.batch.model_outputs`)."""
    semantic_gt: str | None = None
    """The ground-truth instance image's class mask (``--semantic-gt``, :mod:`app.batch.semantic_pairing`)."""
    semantic_pred: str | None = None
    """The class mask of the predicted instance image (``batch --semantic-pred``)."""


@dataclass
class Pairing:
    """The result of pairing: matched cases plus what did not match, by file name."""

    cases: list[CaseFiles] = field(default_factory=list)
    gt_only: list[str] = field(default_factory=list)
    pred_only: list[str] = field(default_factory=list)
    cases_without_image: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def dataset_entries(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Readable inputs of ``folder`` by file name: supported image files and (DICOM) sub-folders.

    Returns
    -------
    entries, ignored
        ``{file name: path}``, and the names of other files (hidden files are skipped silently).
    """
    entries, ignored = {}, []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() or path.name.lower().endswith(READABLE_ENDINGS):
            entries[path.name] = path
        else:
            ignored.append(path.name)
    return entries, ignored


def pair_cases(gt_dir: str | Path, pred_dir: str | Path, image_dir: str | Path | None = None) -> Pairing:
    """Match ground-truth and predicted files, then images.

    GT and prediction pair by identical file name; files left over pair by identical case name
    (name without the image ending: ``case1.nii.gz`` with ``case1.nrrd``) when that is unambiguous.
    An image pairs when its case name is the case's or the case's plus ``_0000`` (nnU-Net).

    Raises
    ------
    InputError
        A folder that does not exist or cannot be read, or no pair at all.
    """
    gt_dir, pred_dir = _folder(gt_dir, "--gt-dir"), _folder(pred_dir, "--pred-dir")
    gt_entries, gt_ignored = _readable_entries(gt_dir, "--gt-dir")
    pred_entries, pred_ignored = _readable_entries(pred_dir, "--pred-dir")
    pairing = Pairing(ignored=[str(gt_dir / n) for n in gt_ignored] + [str(pred_dir / n) for n in pred_ignored])
    pairs = {name: (gt_entries[name], pred_entries[name]) for name in gt_entries if name in pred_entries}
    gt_left = {n: p for n, p in gt_entries.items() if n not in pairs}
    pred_left = {n: p for n, p in pred_entries.items() if n not in pairs}
    pred_by_case = _unique_by_case_name(pred_left)
    for name, gt_path in list(gt_left.items()):
        match = pred_by_case.get(case_name_from_path(name))
        if match is not None and _unique_by_case_name(gt_left).get(case_name_from_path(name)) is not None:
            pairs[name] = (gt_path, match)
            pred_left.pop(match.name)
            gt_left.pop(name)
    images = {}
    if image_dir is not None:
        image_entries, image_ignored = _readable_entries(_folder(image_dir, "--image-dir"), "--image-dir")
        pairing.ignored += [str(Path(image_dir) / n) for n in image_ignored]
        images = {case_name_from_path(n): p for n, p in image_entries.items()}
    for name in sorted(pairs, key=case_name_from_path):
        gt_path, pred_path = pairs[name]
        case = case_name_from_path(name)
        image = images.get(case) or images.get(case + NNUNET_CHANNEL_SUFFIX)
        if image_dir is not None and image is None:
            pairing.cases_without_image.append(case)
        pairing.cases.append(CaseFiles(case, str(gt_path), str(pred_path), None if image is None else str(image)))
    pairing.gt_only = [str(p) for p in gt_left.values()]
    pairing.pred_only = [str(p) for p in pred_left.values()]
    names = [case.name for case in pairing.cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"several ground-truth files share the case name {', '.join(duplicates)}; "
                         "keep one file per case in --gt-dir.")
    if not pairing.cases:
        raise InputError(f"no file in --gt-dir '{gt_dir}' has a prediction of the same name in --pred-dir "
                         f"'{pred_dir}' ({len(gt_entries)} and {len(pred_entries)} image files found); "
                         "name each prediction like its ground truth (case_001.nii.gz in both).")
    return pairing


def _unique_by_case_name(entries: dict[str, Path]) -> dict[str, Path]:
    by_case: dict[str, list[Path]] = {}
    for name, path in entries.items():
        by_case.setdefault(case_name_from_path(name), []).append(path)
    return {case: paths[0] for case, paths in by_case.items() if len(paths) == 1}


def _readable_entries(folder: Path, option: str) -> tuple[dict[str, Path], list[str]]:
    """:func:`dataset_entries` of ``folder``; a folder that cannot be listed is one :class:`InputError`."""
    try:
        return dataset_entries(folder)
    except OSError as error:
        raise InputError(f"{option} '{folder}' cannot be read ({error.strerror or error}); check its "
                         "permissions, or pass a folder you can read.") from None


def _folder(path: str | Path, option: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{option} '{folder}' is not a folder; pass the folder holding the case files.")
    return folder.resolve()
