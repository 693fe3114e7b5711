"""The name a report's title gives a case, derived from its input paths (Qt-free).

One rule for ``dicelens report``, the window's File → Export report and ``dicelens batch --reports``
(an explicit ``--case`` overrides it):

1. a dataset case id shared by the ground truth and the prediction: the file names without their
   image endings, role words (``seg``, ``label``, ``gt``, ``pred``...) and modality or channel
   suffixes (nnU-Net ``_0000``, BraTS ``_t1``, ``-t2f``...): ``case_0001_0000.nii.gz`` and
   ``case_0001.nii.gz`` give ``case_0001``, ``BraTS-GLI-00000-000-seg.nii.gz`` gives
   ``BraTS-GLI-00000-000``;
2. else the common beginning of the ground-truth and prediction file names (``liver12_manual`` and
   ``liver12_model`` give ``liver12``), when it is a name rather than a word like ``label``;
3. else the name of the folder holding the ground truth (``case_00000/segmentation.nii.gz`` gives
   ``case_00000``; the demo case's ``gt.nii.gz`` in ``demo/`` gives ``demo``).
"""

from __future__ import annotations

import re
from pathlib import Path

from app.io import READABLE_ENDINGS

ROLE_WORDS = frozenset({
    "gt", "groundtruth", "ground", "truth", "reference", "ref", "manual", "label", "labels", "labelmap",
    "seg", "segmentation", "segmentations", "mask", "masks", "pred", "prediction", "predicted", "output",
    "result", "auto", "image", "img", "imaging", "volume", "vol", "scan", "data", "case",
})
"""Words that name a file's role, not its case: dropped from the end of a name, never a name alone."""

MODALITY_WORDS = frozenset({
    "t1", "t1w", "t1ce", "t1c", "t1gd", "t1n", "t2", "t2w", "t2f", "flair", "ct", "mr", "mri", "pet", "dwi", "adc",
})
"""Imaging-modality suffixes of dataset file names (BraTS ``_t1ce``, ``-t2f``...)."""

_SEPARATORS = "_-. "
_CHANNEL_SUFFIX = re.compile(r"^(?P<case>.*\d.*)[_-]\d{4}$")   # nnU-Net channel: keeps a case id with digits
_MIN_LENGTH = 2


def report_case_name(gt: str | Path, pred: str | Path | None = None, image: str | Path | None = None) -> str:
    """The case name for a report's title from its input paths (see the module docstring).

    Parameters
    ----------
    gt, pred, image : str or Path
        The ground-truth, prediction and (optional) image inputs as given: files, DICOM folders,
        or ``folder::series`` selectors.

    Returns
    -------
    str
        A non-empty name.
    """
    paths = [_plain_path(p) for p in (gt, pred, image) if p is not None and str(p)]
    stems = [stem_of(path) for path in paths]
    ids = [dataset_id(stem) for stem in stems]
    masks = ids[:2] if pred is not None else ids[:1]
    if masks and all(i == masks[0] for i in masks) and _is_name(masks[0]):
        return masks[0]
    if len(masks) == 2:
        common = _trimmed(_common_prefix(stems[0], stems[1]))
        if _is_name(common):
            return common
        common = _trimmed(_common_prefix(masks[0], masks[1]))
        if _is_name(common):
            return common
    folder = paths[0].resolve().parent.name if paths else ""
    if folder:
        return folder
    return stems[0] if stems and stems[0] else "case"


def stem_of(path: str | Path) -> str:
    """A file or folder name without its image ending (``.nii.gz``, ``.seg.nrrd``...)."""
    name = _plain_path(path).name
    lowered = name.lower()
    for ending in sorted(READABLE_ENDINGS, key=len, reverse=True):
        if lowered.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)]
    return name


def dataset_id(stem: str) -> str:
    """``stem`` without trailing role words, modality suffixes and an nnU-Net channel number."""
    name = stem
    while True:
        match = _CHANNEL_SUFFIX.match(name)
        if match:
            name = match.group("case")
        head, word = _split_last(name)
        if head and (word.lower() in ROLE_WORDS or word.lower() in MODALITY_WORDS):
            name = head
            continue
        if not match:
            return _trimmed(name)


def _split_last(name: str) -> tuple[str, str]:
    """``name`` split before its last word (words separated by ``_``, ``-``, ``.`` or a space)."""
    for index in range(len(name) - 1, -1, -1):
        if name[index] in _SEPARATORS:
            return _trimmed(name[:index]), name[index + 1:]
    return "", name


def _common_prefix(first: str, second: str) -> str:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    prefix = first[:length]
    # Cut back to a word boundary unless both names continue with a separator or end there.
    ends = [name[length] if length < len(name) else "" for name in (first, second)]
    if all(end in _SEPARATORS for end in ends):
        return prefix
    head, _ = _split_last(prefix)
    return head


def _trimmed(name: str) -> str:
    return name.strip(_SEPARATORS)


def _is_name(name: str) -> bool:
    words = [w for w in re.split(r"[_\-. ]+", name.lower()) if w]
    return len(name) >= _MIN_LENGTH and bool(words) and not all(w in ROLE_WORDS or w in MODALITY_WORDS
                                                                  for w in words)


def _plain_path(path: str | Path) -> Path:
    """The path without a DICOM ``::series`` selector (the folder names the case)."""
    text = str(path)
    if "::" in text and not Path(text).exists():
        text = text.split("::", 1)[0]
    return Path(text)

