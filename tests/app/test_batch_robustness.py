"""``dicelens batch`` under stress: stale results, kill -9, Ctrl-C and the temporary files they leave."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.batch.lifetime import remove_stale_temporaries
from app.cli import main
from tests.app.io.conftest import blobs, write_volume

ROOT = Path(__file__).resolve().parents[2]
# Generous limits for a loaded 2-core machine: they bound a hang, they measure nothing.
START_LIMIT_S, EXIT_LIMIT_S = 240.0, 30.0


def _small_dataset(root: Path, names=("case_a", "case_b")):
    gt_dir, pred_dir = root / "gt", root / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    rng = np.random.default_rng(4)
    for name in names:
        gt = blobs(rng, (4, 20, 24), 3)
        write_volume(gt_dir / f"{name}.nii.gz", gt)
        write_volume(pred_dir / f"{name}.nii.gz", np.roll(gt, 3, axis=2))
    return gt_dir, pred_dir


def _dice_by_case(out: Path) -> dict[str, list[str]]:
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    return {case: [r["dice"] for r in rows if r["case"] == case] for case in {r["case"] for r in rows}}


def test_resume_rescores_a_case_whose_prediction_was_replaced(tmp_path, capsys):
    gt_dir, pred_dir = _small_dataset(tmp_path)
    out = tmp_path / "out"
    argv = ["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out)]
    assert main(argv) == 0
    before = _dice_by_case(out)
    assert before["case_a"][1:] != ["1.0", "1.0"]
    stored = json.loads((out / "cases" / "case_a.json").read_text())
    assert len(stored["sha256"]["pred"]) == 64 and stored["sha256"]["image"] is None

    # Same name, size class and folder; only the contents change (a perfect prediction).
    (pred_dir / "case_a.nii.gz").write_bytes((gt_dir / "case_a.nii.gz").read_bytes())
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert "1 already scored (--resume), 1 to score" in capsys.readouterr().err
    after = _dice_by_case(out)
    assert after["case_a"] == ["1.0", "1.0", "1.0"]
    assert after["case_b"] == before["case_b"]


def test_resume_rescores_when_the_label_table_changed_or_no_digest_was_stored(tmp_path, capsys):
    gt_dir, pred_dir = _small_dataset(tmp_path)
    labels = tmp_path / "labels.txt"
    labels.write_text("0 background\n1 liver\n2 spleen\n")
    out = tmp_path / "out"
    argv = ["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--labels", str(labels),
            "--out", str(out), "--resume"]
    assert main(argv) == 0
    labels.write_text("0 background\n1 liver\n2 kidney\n")
    legacy = out / "cases" / "case_b.json"
    legacy.write_text(json.dumps({k: v for k, v in json.loads(legacy.read_text()).items() if k != "sha256"}))
    capsys.readouterr()
    assert main(argv) == 0
    assert "0 already scored (--resume), 2 to score" in capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    assert {r["name"] for r in rows if r["index"] == "2"} == {"kidney"}


def test_a_batch_removes_temporary_files_left_by_a_killed_one(tmp_path):
    gt_dir, pred_dir = _small_dataset(tmp_path, names=("case_a",))
    out = tmp_path / "out"
    (out / "cases" / ".case_a.json.k2j3.tmp").mkdir(parents=True)
    (out / "cases" / ".case_a.json.k2j3.tmp" / "case_a.json").write_text("{")
    (out / ".metrics.csv.x1.tmp").mkdir()
    (out / "reports").mkdir()
    (out / "reports" / ".case_a.pdf.4242.tmp").write_bytes(b"%PDF-")
    (out / "notes.txt").write_text("kept")
    assert main(["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out)]) == 0
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert (out / "notes.txt").read_text() == "kept"


def test_remove_stale_temporaries_touches_only_hidden_tmp_entries(tmp_path):
    for name in (".a.tmp", "b.tmp", ".c.json", ".d.tmp"):
        (tmp_path / name).write_text("")
    assert sorted(p.name for p in remove_stale_temporaries([tmp_path, tmp_path / "missing"])) == [".a.tmp", ".d.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.json", "b.tmp"]


# --- the batch process killed or interrupted while its workers run ---------------------------------

def _process_table() -> dict[int, tuple[int, str]]:
    """``{pid: (parent pid, state)}`` of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def _descendants(pid: int) -> set[int]:
    table, found, frontier = _process_table(), set(), [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _) in table.items():
            if ppid == parent and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _still_running(pids: set[int]) -> set[int]:
    table = _process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}   # a zombie has exited


def _wait_until_gone(pids: set[int]) -> set[int]:
    deadline = time.monotonic() + EXIT_LIMIT_S
    while _still_running(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _still_running(pids)


@pytest.fixture(scope="module")
def busy_dataset(tmp_path_factory):
    """40 cases that keep two workers busy for several seconds."""
    root = tmp_path_factory.mktemp("busy")
    for folder in ("gt", "pred"):
        (root / folder).mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        gt = blobs(rng, (32, 96, 96), 4)
        write_volume(root / "gt" / f"c{i:02d}.nii.gz", gt)
        write_volume(root / "pred" / f"c{i:02d}.nii.gz", np.roll(gt, 2, axis=1))
    return root


def _start_batch(dataset: Path, out: Path, jobs: int, log: Path) -> subprocess.Popen:
    """A ``dicelens batch`` in its own process group (as a shell runs it), once its first case is scored.

    Its output goes to ``log``, not a pipe: orphaned workers would hold a pipe open forever.
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "batch", "--gt-dir", str(dataset / "gt"), "--pred-dir",
             str(dataset / "pred"), "--out", str(out), "--jobs", str(jobs), "--distances"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=stream, stderr=stream, start_new_session=True)
    deadline = time.monotonic() + START_LIMIT_S
    while not list(out.glob("cases/*.json")):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the batch scored no case"
        time.sleep(0.05)
    assert process.poll() is None, "the batch finished before it could be stopped"
    return process


def test_workers_exit_when_the_batch_process_is_killed(busy_dataset, tmp_path):
    process = _start_batch(busy_dataset, tmp_path / "out", jobs=2, log=tmp_path / "batch.log")
    children = _descendants(process.pid)
    assert len(children) >= 2, "expected two worker processes"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    survivors = _wait_until_gone(children)
    for pid in survivors:   # do not leave them running after a failure
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "worker processes outlived the killed batch"


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_stops_cleanly_with_one_line_and_exit_130(busy_dataset, tmp_path, jobs):
    out = tmp_path / "out"
    log = tmp_path / "batch.log"
    process = _start_batch(busy_dataset, out, jobs=jobs, log=log)
    children = _descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)   # what Ctrl-C in a terminal does: the whole process group
    process.wait(timeout=120)
    err = log.read_text()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("dicelens batch: interrupted: ") and last.endswith(
        " of 40 cases scored; rerun with --resume"), last
    scored = int(last.split("interrupted: ")[1].split(" of ")[0])
    assert 0 <= scored <= len(list(out.glob("cases/*.json")))   # a worker may finish just before the stop
    assert not _wait_until_gone(children)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "an interrupted write left a temporary file"


def test_portable_parent_watch_ends_an_orphaned_process(tmp_path):
    """The fallback used where PR_SET_PDEATHSIG does not exist: a thread polling the parent pid."""
    grandchild = ("import sys, threading, time\n"
                  "from app.batch.lifetime import _watch_parent\n"
                  "threading.Thread(target=_watch_parent, args=(int(sys.argv[1]),), daemon=True).start()\n"
                  "time.sleep(120)\n")
    middle = ("import subprocess, sys, os\n"
              f"child = subprocess.Popen([sys.executable, '-c', {grandchild!r}, str(os.getpid())],\n"
              "                         stdout=subprocess.DEVNULL)\n"
              "print(child.pid, flush=True)\n"
              "os._exit(0)\n")   # dies without waiting: the grandchild is orphaned
    result = subprocess.run([sys.executable, "-c", middle], cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=60)
    orphan = {int(result.stdout.split()[0])}
    survivors = _wait_until_gone(orphan)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "the orphaned process kept running"


def test_a_killed_worker_fails_its_cases_instead_of_the_batch(busy_dataset, tmp_path):
    out, log = tmp_path / "out", tmp_path / "batch.log"
    process = _start_batch(busy_dataset, out, jobs=2, log=log)
    workers = [pid for pid in _descendants(process.pid)
               if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert workers
    os.kill(workers[0], signal.SIGKILL)   # what the kernel's out-of-memory killer does
    process.wait(timeout=240)
    err = log.read_text()
    assert process.returncode == 3, err
    assert "Traceback" not in err
    failed = list(csv.DictReader(io.StringIO((out / "errors.csv").read_text())))
    assert failed and all("a worker process ended" in row["message"] for row in failed)
    scored = {row["case"] for row in csv.DictReader(io.StringIO((out / "metrics.csv").read_text()))}
    assert len(scored) + len(failed) == 40
