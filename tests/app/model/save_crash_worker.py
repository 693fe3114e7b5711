"""Child process of the save crash test: edits both masks of a case on disk, then saves the prediction
and is killed by its own hand at one chosen step of the save.

Run as ``python tests/app/model/save_crash_worker.py``: a small server that imports everything once
and forks one process per ``run FOLDER KILL_AT OUTPUT_FILE`` line read from stdin (see
:func:`serve`). Each process opens ``FOLDER/gt.nii.gz`` and ``FOLDER/pred.nii.gz`` with a
:class:`~app.model.case_editor.CaseEditor` (journal under ``FOLDER/data``), performs the crash
test's actions (at least ``ACTIONS``, until both masks are modified), stores the edited masks as
``FOLDER/edited_*.npy``, and saves the prediction. Every file-system step of the save (each
``os.fsync``, ``os.replace``, ``os.unlink``, ``shutil.rmtree`` and image write) is an event,
written to the output file as ``event K NAME``; event number ``KILL_AT`` is replaced by a SIGKILL
of the process itself (the ``torn-write`` event first cuts the freshly written temporary file in
half). ``saved`` is written when the save completed without reaching ``KILL_AT``.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.io import load_case
from app.model.case_editor import CaseEditor
from tests.app.model import crash_worker

ACTIONS = 14


def write_case(folder: Path) -> None:
    """The crash test's masks as NIfTI files (the worker edits them)."""
    for which, array in zip(("gt", "pred"), crash_worker.initial_masks(), strict=True):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(tuple(reversed(crash_worker.SPACING)))
        sitk.WriteImage(image, str(folder / f"{which}.nii.gz"), useCompression=True)


class KillSwitch:
    """Counts the save's file-system events and kills this process at event ``kill_at``."""

    def __init__(self, kill_at: int, out) -> None:
        self.kill_at, self.out, self.count = kill_at, out, 0

    def event(self, name: str, torn_file: str | None = None) -> None:
        print(f"event {self.count} {name}", file=self.out, flush=True)
        if self.count == self.kill_at:
            if torn_file is not None:  # the write was cut short: half a file on disk
                size = os.path.getsize(torn_file)
                with open(torn_file, "rb+") as stream:
                    stream.truncate(size // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        self.count += 1

    def install(self) -> None:
        """Wrap the file-system calls a save makes (this process only; it ends with the save)."""
        def wrap(owner, name, torn=False):
            original = getattr(owner, name)

            def wrapper(*args, **kwargs):
                if torn:  # the image is written first, then (maybe) torn and killed
                    result = original(*args, **kwargs)
                    self.event("torn-write", torn_file=str(args[1]))
                    return result
                target = args[0] if args and isinstance(args[0], str | Path) else _descriptor_path(args)
                self.event(f"{name} {Path(target).name}")
                return original(*args, **kwargs)

            setattr(owner, name, wrapper)

        for name in ("fsync", "replace", "unlink"):
            wrap(os, name)
        wrap(shutil, "rmtree")
        wrap(sitk, "WriteImage", torn=True)


def _descriptor_path(args) -> str:
    """What an ``os.fsync`` descriptor refers to (a file, a folder), for the event's name."""
    try:
        return os.readlink(f"/proc/self/fd/{args[0]}")
    except (OSError, IndexError, TypeError):
        return "(descriptor)"


def main(folder: Path, kill_at: int, out) -> None:
    case = load_case(str(folder / "gt.nii.gz"), str(folder / "pred.nii.gz"))
    editor = CaseEditor(case, data_dir=folder / "data")
    if editor.recovery is not None:
        raise SystemExit("the case already has a journal")
    index = 0
    while index < ACTIONS or not (editor.session.is_modified("pred") and editor.session.is_modified("gt")):
        crash_worker.perform(editor.session, index)
        index += 1
        if index > 500:
            raise SystemExit("the actions did not leave both masks modified")
    for which in ("pred", "gt"):
        np.save(folder / f"edited_{which}.npy", editor.session.mask(which))
    print("edited", file=out, flush=True)
    KillSwitch(kill_at, out).install()
    editor.save("pred")
    print("saved", file=out, flush=True)


def serve() -> None:
    """Fork one process per ``run FOLDER KILL_AT OUTPUT_FILE`` line; print ``status S`` when it ended."""
    print("serving", flush=True)
    for line in sys.stdin:
        _, folder, kill_at, output = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                with open(output, "w") as out:
                    main(Path(folder), int(kill_at), out)
            except BaseException as error:  # report anything to the test through the output file
                with open(output, "a") as out:
                    print(f"error {error!r}", file=out, flush=True)
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(f"status {-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)}",
              flush=True)


if __name__ == "__main__":
    serve()
