"""Pair model outputs (``batch --probs-dir``) with the cases of a dataset, by case name.

A case ``case_001`` (from ``case_001.nii.gz``) takes the probabilities file of the same case name in
the folder: ``case_001.npz`` (nnU-Net's export), ``case_001.npy``, or a 4D ``case_001.nii.gz`` /
``.nrrd``. Cases without one are scored without soft Dice and listed; files that match no case are
listed too. Nothing is read here: the files are checked when the case is scored
(:mod:`app.io.model_output`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.batch.pairing import CaseFiles, Pairing
from app.errors import InputError

MODEL_OUTPUT_ENDINGS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".npz", ".npy")


@dataclasses.dataclass(frozen=True)
class ModelOutputPairing:
    """The cases with their ``probs`` file set, and what did not match."""

    cases: list[CaseFiles]
    cases_without_probs: list[str]
    probs_only: list[str]


def attach_model_outputs(pairing: Pairing, probs_dir: str | Path) -> ModelOutputPairing:
    """Give each case of ``pairing`` the probabilities file of its case name in ``probs_dir``.

    Raises
    ------
    InputError
        ``probs_dir`` is not a folder, several files share a case name, or no case has a file.
    """
    folder = Path(probs_dir)
    if not folder.is_dir():
        raise InputError(f"--probs-dir '{folder}' is not a folder; pass the folder holding the model outputs "
                         "(case_001.npz, ...).")
    by_case: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        case = _case_name(path.name)
        if case is None or path.name.startswith(".") or not path.is_file():
            continue
        if case in by_case:
            raise InputError(f"--probs-dir '{folder}' holds two model outputs of case {case} ({by_case[case].name} "
                             f"and {path.name}); keep one file per case.")
        by_case[case] = path.resolve()
    names = {files.name for files in pairing.cases}
    cases = [dataclasses.replace(files, probs=str(by_case[files.name])) if files.name in by_case else files
             for files in pairing.cases]
    if by_case and not any(files.probs for files in cases):
        raise InputError(f"no file in --probs-dir '{folder}' is named after a case (e.g. "
                         f"{pairing.cases[0].name}.npz); name each model output like its ground truth.")
    return ModelOutputPairing(cases, [files.name for files in cases if files.probs is None],
                              [str(path) for case, path in by_case.items() if case not in names])


def _case_name(file_name: str) -> str | None:
    lowered = file_name.lower()
    for ending in MODEL_OUTPUT_ENDINGS:
        if lowered.endswith(ending):
            return file_name[: -len(ending)]
    return None
