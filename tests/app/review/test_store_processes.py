"""Two processes writing one review database at once, and a process killed in the middle of a verdict."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app.review.store import ReviewStore

ROOT = Path(__file__).resolve().parents[3]
CONFIG = {"gt_dir": "/data/gt", "pred_dir": "/data/pred", "image_dir": "", "labels": ""}
WRITES = 300

WRITER = textwrap.dedent("""
    import sys
    from app.review.store import ReviewStore, Verdict, utc_timestamp

    path, reviewer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = ReviewStore.open(path)
    for index in range(count):
        case = f"case_{index % 50}"
        store.claim(case, reviewer)
        store.record_verdict(Verdict(f"{reviewer}_{index}", "accepted", 1 + index % 5, reviewer, utc_timestamp(),
                                     float(index), f"verdict {index}", {"liver": index / count}, None, 0, None))
        store.add_seconds(case, 1.0)
        print(index, flush=True)
    store.close()
""")

KILLED_MID_VERDICT = textwrap.dedent("""
    import os, signal, sys
    from app.review.store import ReviewStore, Verdict, utc_timestamp

    class DiesBeforeCommit(ReviewStore):
        calls = 0

        def _insert_verdict(self, db, verdict):
            super()._insert_verdict(db, verdict)
            DiesBeforeCommit.calls += 1
            if DiesBeforeCommit.calls == int(sys.argv[2]):   # the row is written, the commit not yet
                os.kill(os.getpid(), signal.SIGKILL)

    base = ReviewStore.open(sys.argv[1])
    store = DiesBeforeCommit(base._db, base.path)
    for index in range(1000):
        store.record_verdict(Verdict(f"case_{index}", "rejected", None, "ana", utc_timestamp(), 1.0, "x" * 500,
                                     {"liver": 0.5}, None, 0, None))
        print(index, flush=True)
""")


def _run(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_processes_writing_hundreds_of_verdicts_each_lose_nothing(tmp_path):
    path = tmp_path / "review.sqlite"
    ReviewStore.create(path, CONFIG).close()
    writers = [_run(WRITER, str(path), reviewer, str(WRITES)) for reviewer in ("ana", "bo")]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        assert out.split() == [str(i) for i in range(WRITES)]
    store = ReviewStore.open(path)
    try:
        verdicts = store.verdicts()
        assert len(verdicts) == 2 * WRITES
        for reviewer in ("ana", "bo"):
            for index in range(WRITES):
                found = verdicts[f"{reviewer}_{index}"]
                assert (found.reviewer, found.grade, found.comment) == (reviewer, 1 + index % 5, f"verdict {index}")
        assert sum(store.seconds_spent().values()) == 2 * WRITES
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()


def test_sigkill_between_the_verdict_row_and_its_commit_keeps_every_committed_verdict(tmp_path):
    path = tmp_path / "review.sqlite"
    ReviewStore.create(path, CONFIG).close()
    child = _run(KILLED_MID_VERDICT, str(path), "40")
    out, _ = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL
    committed = [int(line) for line in out.split()]
    assert committed == list(range(39))
    store = ReviewStore.open(path)
    try:
        assert set(store.verdicts()) == {f"case_{i}" for i in range(39)}   # the 40th never committed
        store.record_verdict(next(iter(store.verdicts().values())))       # and the database takes new ones
    finally:
        store.close()


def test_sigkill_at_a_random_moment_of_a_busy_writer_keeps_every_committed_verdict(tmp_path):
    path = tmp_path / "review.sqlite"
    ReviewStore.create(path, CONFIG).close()
    child = _run(WRITER, str(path), "ana", "100000")
    committed = []
    for line in child.stdout:
        committed.append(int(line))
        if len(committed) == 150:
            break
    os.kill(child.pid, signal.SIGKILL)
    rest, _ = child.communicate(timeout=60)
    committed += [int(line) for line in rest.split()]
    store = ReviewStore.open(path)
    try:
        stored = store.verdicts()
        assert {f"ana_{i}" for i in committed} <= set(stored)
        assert len(stored) in (len(committed), len(committed) + 1)   # at most the one whose print was cut off
    finally:
        store.close()
