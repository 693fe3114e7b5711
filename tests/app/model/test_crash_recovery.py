"""The hard way: an editing process killed with SIGKILL at random moments loses no completed stroke.

A child process (``crash_worker.py``) edits a small case through the model with the journal on and
prints ``stroke N done`` after each journal record is fsync'ed. Every record is written in two
halves with a pause between them (``half N`` is printed in between), and the child is killed either
at a random moment or right after the first half of a record, which tears that record. The journal
is then recovered onto freshly loaded masks here: the torn tail must be dropped with one warning,
and the result must equal the masks (and the undo/redo lists) of an uninterrupted in-process run
after the last complete record. The next child resumes from that journal, so every round also tests
appending after a (torn) crash.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.io import load_case
from app.model.case_editor import CaseEditor
from app.model.journal import Journal
from tests.app.model import crash_worker, save_crash_worker

ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(crash_worker.__file__)
KILLS = 30

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


@dataclass
class Snapshot:
    pred: np.ndarray
    gt: np.ndarray
    undo_ids: list[int]
    redo_ids: list[int]
    next_action: int


class RecordCounter:
    """Stands in for the journal in the reference run: counts records, writes nothing."""

    path = Path("reference")

    def __init__(self) -> None:
        self.count = 0

    def append(self, record) -> None:
        self.count += 1


class ReferenceRun:
    """The uninterrupted run, extended on demand: the state after each journal record."""

    def __init__(self) -> None:
        self.counter = RecordCounter()
        self.session = crash_worker.make_session(journal=self.counter)
        self.next_action = 0
        self.snapshots = [self._snapshot()]

    def _snapshot(self) -> Snapshot:
        history = self.session.history
        return Snapshot(self.session.mask("pred").copy(), self.session.mask("gt").copy(),
                        [s.id for s in history.undo_steps], [s.id for s in history.redo_steps],
                        self.next_action)

    def after(self, records: int) -> Snapshot:
        while len(self.snapshots) <= records:
            before = self.counter.count
            crash_worker.perform(self.session, self.next_action)
            self.next_action += 1
            if self.counter.count != before:
                self.snapshots.append(self._snapshot())
        return self.snapshots[records]


class EditorServer:
    """The worker server: forks an editing process per run, reports its pid and how it ended."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen([sys.executable, str(WORKER)], cwd=ROOT, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout.readline() == "serving\n"

    def run_until_killed(self, journal_dir: Path, start_action: int, delay: float, output: Path,
                         at_half: int = 0) -> tuple[int, int]:
        """Start an editor, SIGKILL it; return (recovered at start, strokes done).

        The kill comes ``delay`` s after the editor is ready, or, with ``at_half`` > 0, as soon as the
        first half of its ``at_half``-th record is written (tearing that record)."""
        self.process.stdin.write(f"run {journal_dir} {start_action} {output} 1\n")
        self.process.stdin.flush()
        pid = int(self.process.stdout.readline().split()[1])
        deadline = time.monotonic() + 20
        while not (output.exists() and output.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "the editing process never became ready"
            time.sleep(0.002)
        if at_half:
            while len(re.findall(r"^half ", output.read_text(), flags=re.MULTILINE)) < at_half:
                assert time.monotonic() < deadline + 20, "the editing process never wrote a record"
                time.sleep(0.001)
        else:
            time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        status = self.process.stdout.readline().split()
        text = output.read_text()
        assert status == ["status", str(-signal.SIGKILL)], f"editor ended by itself: {status} {text[-300:]}"
        ready = text.splitlines()[0].split()
        assert ready[0] == "ready", text[:300]
        done = [int(n) for n in re.findall(r"^stroke (\d+) done$", text, flags=re.MULTILINE)]
        return int(ready[1]), (done[-1] if done else int(ready[1]))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def editor_server():
    server = EditorServer()
    yield server
    server.close()


def test_sigkill_at_random_moments_recovers_every_completed_stroke(tmp_path, editor_server):
    chooser = random.Random(7)
    journal_dir = tmp_path / "journal"
    reference = ReferenceRun()
    recovered, start_action, progress, torn = 0, 0, [], []
    for run in range(KILLS):
        at_half = chooser.randint(1, 4) if run % 2 else 0
        at_start, done = editor_server.run_until_killed(journal_dir, start_action, chooser.uniform(0.005, 0.2),
                                                        tmp_path / f"run{run}.txt", at_half)
        assert at_start == recovered, "the child recovered a different number of records"
        contents = Journal(journal_dir).read()
        tail = (journal_dir / "journal.bin").stat().st_size - contents.valid_bytes
        if tail:  # the kill tore a record: it alone is dropped, with one warning
            torn.append(run)
            assert len(contents.warnings) == 1 and "damaged record" in contents.warnings[0], contents.warnings
            assert len(contents.records) == done, "a torn tail cost a complete record"
        else:
            assert contents.warnings == []
        session = crash_worker.make_session()
        applied, warnings = session.replay(contents.records)
        assert warnings == [] and applied == len(contents.records)
        # Every stroke reported done is recovered; the kill may also land after an fsync but
        # before the report, recovering one more.
        assert done <= applied <= done + 1, (done, applied, contents.warnings)
        expected = reference.after(applied)
        np.testing.assert_array_equal(session.mask("pred"), expected.pred)
        np.testing.assert_array_equal(session.mask("gt"), expected.gt)
        assert [s.id for s in session.history.undo_steps] == expected.undo_ids
        assert [s.id for s in session.history.redo_steps] == expected.redo_ids
        progress.append(applied - recovered)
        recovered, start_action = applied, expected.next_action
    assert recovered > KILLS, f"the children completed too few strokes to test anything: {progress}"
    assert {r.kind for r in contents.records} == {"step", "undo", "redo"}
    assert {r.which for r in contents.records} == {"pred", "gt"}
    assert sum(1 for p in progress if p > 0) >= KILLS // 3, progress
    # Most kills right after a first half tear the record (a slow machine may finish the pause first).
    assert len([run for run in torn if run % 2]) >= KILLS // 4, torn
    print(f"{KILLS} kills, {len(torn)} torn records, {recovered} records recovered in the end")


SAVE_WORKER = Path(save_crash_worker.__file__)


def test_sigkill_at_every_step_of_a_save_loses_no_edit(tmp_path):
    """Kill the editor at each file-system step of File → Save (and once with the new file torn in
    half): the prediction file on disk is always whole (the old one or the new one), and reopening
    the case with the journal always gives back every edit of both masks."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen([sys.executable, str(SAVE_WORKER)], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert server.stdout.readline() == "serving\n"
    outcomes = []
    try:
        for kill_at in range(60):
            folder = tmp_path / f"kill{kill_at}"
            folder.mkdir()
            save_crash_worker.write_case(folder)
            original = load_case(str(folder / "gt.nii.gz"), str(folder / "pred.nii.gz"))
            output = folder / "events.txt"
            server.stdin.write(f"run {folder} {kill_at} {output}\n")
            server.stdin.flush()
            status = server.stdout.readline().split()
            text = output.read_text()
            assert "error" not in text, text[-500:]
            edited = {which: np.load(folder / f"edited_{which}.npy") for which in ("pred", "gt")}
            if text.endswith("saved\n"):
                assert status == ["status", "0"] and kill_at > 3, text
                break
            assert status == ["status", str(-signal.SIGKILL)], (status, text[-300:])
            event = re.findall(r"^event \d+ (.*)$", text, flags=re.MULTILINE)[-1]
            visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            assert visible == ["data", "edited_gt.npy", "edited_pred.npy", "events.txt", "gt.nii.gz", "pred.nii.gz"]
            on_disk = load_case(str(folder / "gt.nii.gz"), str(folder / "pred.nii.gz"))  # never half a file
            if np.array_equal(on_disk.pred, original.pred):
                state = "old file"
            else:
                np.testing.assert_array_equal(on_disk.pred, edited["pred"])
                state = "new file"
            np.testing.assert_array_equal(on_disk.gt, original.gt)
            editor = CaseEditor(on_disk, data_dir=folder / "data")
            assert editor.recovery is not None, f"killed at {event}: the unsaved ground truth edits were lost"
            assert editor.recover() == []
            for which in ("pred", "gt"):
                np.testing.assert_array_equal(editor.session.mask(which), edited[which], err_msg=event)
            assert editor.session.is_modified("gt") and editor.session.is_modified("pred") == (state == "old file")
            hidden = [p for p in folder.iterdir() if p.name.startswith(".")]
            for leftover in hidden:  # what the killed save left, an hour later
                os.utime(leftover, (time.time() - 2 * 3600,) * 2)
            editor.save("pred")      # the next save of the file removes it
            assert not [p for p in folder.iterdir() if p.name.startswith(".")]
            editor.close()
            outcomes.append((event, state, len(hidden)))
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    states = [state for _, state, _ in outcomes]
    assert "old file" in states and "new file" in states and any(e == "torn-write" for e, _, _ in outcomes)
    for event, state, hidden in outcomes:
        print(f"killed at {event:<60} -> {state}, {hidden} hidden temporary folder(s) left")
