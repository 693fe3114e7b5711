"""Child process of the crash test: edits a small case through the model with the journal on, until killed.

Run as ``python tests/app/model/crash_worker.py``: a small server that imports everything once and
then forks one editing process per request (see :func:`serve`). Each editing process recovers
whatever ``JOURNAL_DIR`` holds, writes ``ready K`` (K = journal records recovered) to its output
file, then performs actions ``START_ACTION, START_ACTION + 1, ...`` (brush strokes of several
segments, fills, polygons, undo, redo), writing ``stroke N done`` after each action whose journal
record was fsync'ed (N = records in the journal), until it is killed. The test process computes the
same actions without interruption as the reference.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from app.model.edit_session import EditSession
from app.model.journal import Journal

SEED = 20261123
SHAPE = (6, 40, 48)
SPACING = (2.0, 0.8, 1.1)
NUM_CLASSES = 5
MAX_ACTIONS = 100_000


def initial_masks() -> tuple[np.ndarray, np.ndarray]:
    """The case as loaded from disk: ``(z, y, x) uint8`` ground truth and prediction (blocky labels)."""
    rng = np.random.default_rng(SEED)
    coarse = rng.integers(0, NUM_CLASSES, size=(SHAPE[0], SHAPE[1] // 8, SHAPE[2] // 8), dtype=np.uint8)
    gt = np.ascontiguousarray(coarse.repeat(8, axis=1).repeat(8, axis=2))
    pred = gt.copy()
    flips = rng.random(SHAPE) < 0.1
    pred[flips] = rng.integers(0, NUM_CLASSES, size=int(flips.sum()), dtype=np.uint8)
    return gt, pred


def make_session(journal=None) -> EditSession:
    """A session on freshly "loaded" masks (big history budget: nothing dropped)."""
    gt, pred = initial_masks()
    return EditSession(gt, pred, SPACING, NUM_CLASSES, journal=journal)


def _point(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-1.0, np.asarray(SHAPE, dtype=float))


def perform(session: EditSession, index: int, pause: float = 0.0) -> None:
    """Action number ``index``: the same for the same ``index`` and session state, wherever it runs."""
    rng = np.random.default_rng([SEED, index])
    choice = rng.random()
    session.target = "gt" if rng.random() < 0.2 else "pred"
    session.active_label = int(rng.integers(1, NUM_CLASSES))
    session.protected_labels = [int(v) for v in rng.choice(NUM_CLASSES, size=int(rng.integers(0, 2)))]
    session.background_only = bool(rng.random() < 0.15)
    axis = int(rng.integers(0, 3))
    erase = bool(rng.random() < 0.2)
    if choice < 0.12:
        session.undo()
    elif choice < 0.2:
        session.redo()
    elif choice < 0.28:
        session.fill(_point(rng), axis, erase=erase)
    elif choice < 0.36:
        session.fill_polygon([_point(rng) for _ in range(int(rng.integers(3, 8)))], axis, erase=erase)
    else:
        session.brush_radius_mm = float(rng.uniform(0.4, 4.0))
        session.brush_sphere = bool(rng.random() < 0.15)
        point = _point(rng)
        session.begin_stroke(point, axis, erase=erase)
        for _ in range(int(rng.integers(1, 8))):
            point = point + rng.normal(0.0, 4.0, size=3)
            if pause:
                time.sleep(pause)
            session.paint_segment(point)
        session.end_stroke()


TEAR_PAUSE_S = 0.03
"""How long a torn write waits between its two halves (the test kills the editor there)."""


class CountingJournal(Journal):
    """A real journal that also counts the records appended by this process.

    With ``out`` given, every record is written in two ``write`` calls split at a random byte: the
    first half is flushed to the file, ``half N`` is reported on ``out`` (N = the record's number),
    and the second half follows :data:`TEAR_PAUSE_S` later, so a kill in between tears the record.
    """

    def __init__(self, directory: Path, already: int, out=None) -> None:
        super().__init__(directory)
        self.count = already
        self.out = out

    def append(self, record) -> None:
        super().append(record)
        self.count += 1

    def _write_record(self, data: bytes) -> None:
        if self.out is None:
            super()._write_record(data)
            return
        split = int(np.random.default_rng([SEED, self.count]).integers(1, len(data)))
        self._stream.write(data[:split])
        self._stream.flush()
        print(f"half {self.count + 1} at {split} of {len(data)}", file=self.out, flush=True)
        time.sleep(TEAR_PAUSE_S)
        self._stream.write(data[split:])


def main(journal_dir: str, start_action: int, out, tear: bool = False) -> None:
    """Recover ``journal_dir``, say ``ready K`` on ``out``, then edit and report each fsync'ed record.

    With ``tear``, every record write is split in two (see :class:`CountingJournal`)."""
    contents = Journal(journal_dir).read()
    session = make_session()
    applied, warnings = session.replay(contents.records)
    if warnings or applied != len(contents.records):
        raise SystemExit(f"replay failed: {warnings}")
    journal = CountingJournal(Path(journal_dir), applied, out if tear else None)
    session.journal = journal
    print(f"ready {applied}", file=out, flush=True)
    for index in range(start_action, start_action + MAX_ACTIONS):
        before = journal.count
        perform(session, index, pause=0.0005)
        if session.journal_error is not None:
            raise SystemExit(session.journal_error)
        if journal.count != before:
            print(f"stroke {journal.count} done", file=out, flush=True)
    print("finished", file=out, flush=True)


def serve() -> None:
    """Fork one editing process per ``run JOURNAL_DIR START_ACTION OUTPUT_FILE TEAR`` line read from stdin.

    Imports happen once here, so each editing process starts in milliseconds. For each run this
    prints ``pid P`` and, once that process has ended, ``status S`` (the negated signal number when a
    signal ended it, else its exit code).
    """
    print("serving", flush=True)
    for line in sys.stdin:
        _, journal_dir, start_action, output, tear = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                with open(output, "w") as out:
                    main(journal_dir, int(start_action), out, tear == "1")
            except BaseException as error:  # report anything to the test through the output file
                with open(output, "a") as out:
                    print(f"error {error!r}", file=out, flush=True)
                code = 1
            os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"status {-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)}",
              flush=True)


if __name__ == "__main__":
    serve()
