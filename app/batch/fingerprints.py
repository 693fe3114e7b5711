"""SHA-256 of a case's input files, stored with its result so that ``--resume`` never reuses a stale one.

A stored result is reused only when the digests of its ground truth, prediction, image and label
table (all of their files: a ``.mhd``/``.nhdr`` header with its data file, every file of a DICOM
folder) equal those of the files now on disk. Files are read in 4 MiB blocks, never whole; the
cost is one sequential read of each input per resumed case, and once more when a case is scored
(measured by ``bench/resume_hash.py`` against loading the case).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.batch.pairing import CaseFiles

BLOCK_BYTES = 1 << 22


def input_digests(files: CaseFiles, labels: str | None) -> dict[str, str | None]:
    """``{"gt", "pred", "image", "labels"}`` → hex SHA-256 of the input's files (None: no such input).

    Raises
    ------
    OSError
        An input cannot be read (the caller treats the case as not scored).
    """
    digests = {"gt": path_digest(files.gt), "pred": path_digest(files.pred),
               "image": None if files.image is None else path_digest(files.image),
               "labels": None if labels is None else path_digest(labels)}
    if files.probs is not None:   # batch --probs-dir: the model output too
        digests["probs"] = path_digest(files.probs)
    for role in ("semantic_gt", "semantic_pred"):   # batch --semantic-gt / --semantic-pred
        if getattr(files, role) is not None:
            digests[role] = path_digest(getattr(files, role))
    return digests


def path_digest(path: str | Path) -> str:
    """SHA-256 of an input: a file (with a detached header's data file), or every file of a folder.

    Several files are hashed in name order, each preceded by its name, so renaming or moving a
    slice between files changes the digest.
    """
    path = Path(path)
    members = _members(path)
    digest = hashlib.sha256()
    for member in members:
        if len(members) > 1 or path.is_dir():
            digest.update(member.name.encode("utf-8", "surrogateescape") + b"\0")
        with member.open("rb") as stream:
            while block := stream.read(BLOCK_BYTES):
                digest.update(block)
    return digest.hexdigest()


def _members(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(entry for entry in path.iterdir() if entry.is_file())
    from app.io.images import source_files  # a .mhd/.nhdr header's data file, as the reader finds it

    return list(source_files(path))
