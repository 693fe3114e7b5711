"""Pair semantic masks (``batch --semantic-gt DIR --semantic-pred DIR``) with the cases of a dataset.

In instance mode with semantic masks (docs/architecture.md §5a) each case needs the class masks of its
two instance images: the file of the same case name (``case_001.png`` for the ground truth
``case_001.png``, any readable ending) in each folder. A case without both is refused before anything is
scored, naming the cases, so no case is counted as one class by mistake. Nothing is read here: the
files are checked when the case is scored (:func:`app.object_scoring.load_semantic_masks`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.batch.pairing import CaseFiles, dataset_entries
from app.errors import InputError
from app.report.content import case_name_from_path

LISTED = 5
"""Cases named in the message about missing semantic masks; the rest are counted."""


def attach_semantic_masks(cases: list[CaseFiles], gt_dir: str | Path, pred_dir: str | Path) -> list[CaseFiles]:
    """The cases with ``semantic_gt`` and ``semantic_pred`` set from the two folders, by case name.

    Raises
    ------
    InputError
        A folder that does not exist, two files of one case name in a folder, or a case without its
        semantic mask in either folder.
    """
    found = {role: _by_case_name(folder, option) for role, folder, option in
             (("gt", gt_dir, "--semantic-gt"), ("pred", pred_dir, "--semantic-pred"))}
    missing = [(files.name, option) for files in cases
               for role, option in (("gt", "--semantic-gt"), ("pred", "--semantic-pred"))
               if files.name not in found[role]]
    if missing:
        named = ", ".join(f"{name} (in {option})" for name, option in missing[:LISTED])
        more = f" and {len(missing) - LISTED} more" if len(missing) > LISTED else ""
        raise InputError(f"{len(missing)} semantic mask(s) missing: {named}{more}. Every case needs the semantic "
                         "mask of its ground truth in --semantic-gt and of its prediction in --semantic-pred, named "
                         "like its ground truth (case_001.png).")
    return [dataclasses.replace(files, semantic_gt=str(found["gt"][files.name]),
                                semantic_pred=str(found["pred"][files.name])) for files in cases]


def _by_case_name(folder: str | Path, option: str) -> dict[str, Path]:
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{option} '{path}' is not a folder; pass the folder holding the semantic masks.")
    entries, _ = dataset_entries(path)
    by_case: dict[str, Path] = {}
    for name, entry in sorted(entries.items()):
        case = case_name_from_path(name)
        if case in by_case:
            raise InputError(f"{option} '{path}' holds two semantic masks of case {case} ({by_case[case].name} and "
                             f"{name}); keep one file per case.")
        by_case[case] = entry.resolve()
    return by_case
