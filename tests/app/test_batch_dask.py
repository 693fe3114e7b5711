"""``dicelens batch --scheduler``: the same outputs as the local pool on a real Dask LocalCluster.

One LocalCluster (2 worker processes, 1 thread each, loopback, no dashboard) is shared by the module;
one test starts its own through ``--scheduler local:2``. Worker-side behaviour (a worker dying, a
worker that does not see a folder) is injected with a Dask ``WorkerPlugin`` that patches the worker
process's copy of :mod:`app.batch.cluster`, so the batch code has no test hook.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from tests.app.report.casefiles import synthetic_masks, write_volume

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
CASES = ("case_a", "case_b", "case_c")


def _dataset(root: Path, broken: str | None = "case_x") -> tuple[Path, Path]:
    gt_dir, pred_dir = root / "gt", root / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for seed, name in enumerate(CASES):
        gt, pred = synthetic_masks(3 + seed, shape=(5, 24, 24), seed=seed)
        write_volume(gt, gt_dir / f"{name}.nii.gz")
        write_volume(pred, pred_dir / f"{name}.nii.gz")
    if broken is not None:
        gt, _ = synthetic_masks(3, shape=(5, 24, 24), seed=9)
        write_volume(gt, gt_dir / f"{broken}.nii.gz")
        (pred_dir / f"{broken}.nii.gz").write_bytes(b"not an image at all")
    return gt_dir, pred_dir


def _argv(gt_dir: Path, pred_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), *extra]


def _without_execution(summary_text: str) -> str:
    """summary.json's text before its last entry, the execution record."""
    head, marker, _ = summary_text.rpartition(',\n  "execution": ')
    assert marker, "summary.json ends with its execution record"
    return head


def _errors(out: Path) -> dict[str, str]:
    return {row["case"]: row["message"] for row in csv.DictReader(io.StringIO((out / "errors.csv").read_text()))}


class PatchWorker(distributed.WorkerPlugin):
    """Replaces a function of :mod:`app.batch.cluster` in every worker process while registered."""

    def __init__(self, attribute: str, replacement) -> None:
        self.attribute, self.replacement = attribute, replacement

    def setup(self, worker) -> None:
        import app.batch.cluster as cluster

        self.original = getattr(cluster, self.attribute)
        setattr(cluster, self.attribute, self.replacement)

    def teardown(self, worker) -> None:
        import app.batch.cluster as cluster

        setattr(cluster, self.attribute, self.original)


class ExitDuringCase:
    """``run_case`` that ends the worker process (as the OOM killer would) while scoring ``case``.

    Each death appends a line to ``deaths``; after ``times`` deaths the case is scored normally.
    """

    def __init__(self, case: str, deaths: Path, times: int) -> None:
        self.case, self.deaths, self.times = case, str(deaths), times

    def __call__(self, job):
        from app.batch.worker import run_case

        if job.files.name == self.case:
            died = len(Path(self.deaths).read_text().splitlines()) if os.path.exists(self.deaths) else 0
            if died < self.times:
                with open(self.deaths, "a") as stream:
                    stream.write("died\n")
                os._exit(1)
        return run_case(job)


def _sees_nothing(probe: str, token: str) -> bool:
    return False


def _other_mount(inputs: list[str]) -> list[str]:
    return inputs[:1]   # as if the worker had the data at another path


@pytest.fixture(scope="module")
def cluster():
    from app.batch.cluster import start_local_cluster

    local = start_local_cluster(2)
    client = distributed.Client(local, set_as_default=False)
    yield local.scheduler_address, client
    client.close()
    local.close()


@pytest.fixture
def patched(cluster):
    """``patch(attribute, replacement)`` for the rest of the test, in every worker of the shared cluster."""
    _, client = cluster
    names = []

    def patch(attribute, replacement):
        name = f"dicelens-test-{attribute}"
        client.register_plugin(PatchWorker(attribute, replacement), name=name)
        names.append(name)

    yield patch
    for name in names:
        client.unregister_worker_plugin(name)


def test_dask_outputs_equal_the_local_pool_byte_for_byte(tmp_path, capsys):
    gt_dir, pred_dir = _dataset(tmp_path)
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert main(_argv(gt_dir, pred_dir, local, "--jobs", "2", "--distances")) == 3
    assert main(_argv(gt_dir, pred_dir, dask, "--scheduler", "local:2", "--distances")) == 3
    err = capsys.readouterr().err
    assert "2 workers" in err and "results written by the workers" in err

    assert (dask / "metrics.csv").read_bytes() == (local / "metrics.csv").read_bytes()
    assert (dask / "errors.csv").read_bytes() == (local / "errors.csv").read_bytes()
    summaries = {out: (out / "summary.json").read_text() for out in (local, dask)}
    assert _without_execution(summaries[dask]) == _without_execution(summaries[local])
    for name in CASES:
        assert (dask / "cases" / f"{name}.json").read_bytes() == (local / "cases" / f"{name}.json").read_bytes()
    assert json.loads(summaries[local])["execution"] == {"executor": "local", "jobs": 2}
    execution = json.loads(summaries[dask])["execution"]
    assert execution["executor"] == "dask" and execution["scheduler"] == "local:2"
    assert execution["scheduler_address"].startswith("tcp://127.0.0.1:")
    assert (execution["workers"], execution["threads"], execution["results_written_by"]) == (2, 2, "workers")
    # the failing case: the worker's own message, not retried, no result file
    assert "case_x" in _errors(dask) and "case_x.nii.gz" in _errors(dask)["case_x"]
    assert not (dask / "cases" / "case_x.json").exists()


def test_resume_works_across_the_local_pool_and_dask(cluster, tmp_path, capsys):
    address, _ = cluster
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    out = tmp_path / "out"
    assert main(_argv(gt_dir, pred_dir, out)) == 0
    first = (out / "metrics.csv").read_bytes()
    (out / "cases" / "case_b.json").unlink()
    capsys.readouterr()
    assert main(_argv(gt_dir, pred_dir, out, "--resume", "--scheduler", address)) == 0
    assert "2 already scored (--resume), 1 to score" in capsys.readouterr().err
    assert (out / "metrics.csv").read_bytes() == first
    assert json.loads((out / "summary.json").read_text())["execution"]["scheduler"] == address

    assert main(_argv(gt_dir, pred_dir, out, "--resume")) == 0   # the case Dask scored is reused locally
    assert "3 already scored (--resume), 0 to score" in capsys.readouterr().err
    assert (out / "metrics.csv").read_bytes() == first


def test_results_come_back_to_the_client_when_workers_do_not_see_the_output_folder(cluster, patched, tmp_path,
                                                                                   capsys):
    address, _ = cluster
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    patched("sees_probe", _sees_nothing)
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert main(_argv(gt_dir, pred_dir, local)) == 0
    assert main(_argv(gt_dir, pred_dir, dask, "--scheduler", address, "--reports")) == 0
    assert "results written here (the workers do not see the output folder)" in capsys.readouterr().err
    assert json.loads((dask / "summary.json").read_text())["execution"]["results_written_by"] == "client"
    assert (dask / "metrics.csv").read_bytes() == (local / "metrics.csv").read_bytes()
    for name in CASES:
        assert (dask / "reports" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        stored = json.loads((dask / "cases" / f"{name}.json").read_text())
        assert stored["report"] == str(dask.resolve() / "reports" / f"{name}.pdf")
    assert not [p.name for p in (dask / "reports").iterdir() if p.name.endswith(".tmp")]


def test_a_worker_that_dies_once_has_its_case_retried(cluster, patched, tmp_path):
    address, _ = cluster
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    deaths = tmp_path / "deaths.txt"
    patched("run_case", ExitDuringCase("case_b", deaths, times=1))
    out = tmp_path / "out"
    assert main(_argv(gt_dir, pred_dir, out, "--scheduler", address)) == 0
    assert deaths.read_text() == "died\n"
    assert sorted(p.name for p in (out / "cases").iterdir()) == [f"{name}.json" for name in CASES]


def test_a_worker_that_dies_on_every_try_is_reported_after_one_retry(cluster, patched, tmp_path):
    from app.batch.cluster import WORKER_DIED_TWICE

    address, _ = cluster
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    deaths = tmp_path / "deaths.txt"
    patched("run_case", ExitDuringCase("case_a", deaths, times=99))
    out = tmp_path / "out"
    assert main(_argv(gt_dir, pred_dir, out, "--scheduler", address)) == 3
    assert deaths.read_text() == "died\n" * 2   # the first try and one retry
    assert _errors(out) == {"case_a": WORKER_DIED_TWICE}
    assert sorted(p.name for p in (out / "cases").iterdir()) == ["case_b.json", "case_c.json"]


def test_a_worker_that_cannot_see_the_inputs_is_refused(cluster, patched, tmp_path, capsys):
    address, _ = cluster
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    patched("missing_inputs", _other_mount)
    out = tmp_path / "out"
    assert main(_argv(gt_dir, pred_dir, out, "--scheduler", address)) == 2
    err = capsys.readouterr().err
    assert "cannot see the input" in err and str(gt_dir / "case_a.nii.gz") in err and "Traceback" not in err
    assert not (out / "metrics.csv").exists() and not list((out / "cases").iterdir())
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]   # the probe file is gone


def test_probe_reports_paths_this_machine_cannot_see(tmp_path):
    from app.batch.cluster import probe_worker

    seen = tmp_path / "seen.nii.gz"
    seen.write_bytes(b"x")
    probe = tmp_path / ".probe.tmp"
    probe.write_text("token")
    assert probe_worker([str(seen), str(tmp_path / "gone.nii.gz")], str(probe), "token") == (
        [str(tmp_path / "gone.nii.gz")], True)
    assert probe_worker([str(seen)], str(probe), "other") == ([], False)


def test_unreachable_scheduler_is_exit_2_with_address_and_timeout(tmp_path, capsys):
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    with socket.socket() as server:   # a port nobody listens on
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    code = main(_argv(gt_dir, pred_dir, tmp_path / "out", "--scheduler", address, "--scheduler-timeout", "1"))
    err = capsys.readouterr().err
    assert code == 2 and address in err and "within 1 s" in err and "Traceback" not in err


def test_scheduler_without_distributed_installed_is_exit_2(tmp_path, capsys, monkeypatch):
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed raises ImportError
    assert main(_argv(gt_dir, pred_dir, tmp_path / "out", "--scheduler", "local:2")) == 2
    assert "pip install 'dicelens[distributed]'" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "message"), [
    (("--scheduler", "local:0"), "local:N"),
    (("--scheduler", "myhost:8786"), "tcp://HOST:PORT"),
    (("--scheduler", "local:2", "--jobs", "2"), "exclude each other"),
    (("--scheduler", "local:2", "--scheduler-timeout", "0"), "--scheduler-timeout"),
])
def test_bad_scheduler_arguments_are_exit_2_before_any_output(tmp_path, capsys, extra, message):
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    assert main(_argv(gt_dir, pred_dir, tmp_path / "out", *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_batch_without_scheduler_never_imports_dask(tmp_path):
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    argv = _argv(gt_dir, pred_dir, tmp_path / "out", "--jobs", "2")
    script = ("import sys\nfrom app.cli import main\n"
              f"code = main({argv!r})\n"
              "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
              "print(code, loaded)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.stdout.strip() == "0 []", done.stderr


def test_ctrl_c_on_a_local_cluster_stops_cleanly_with_exit_130(tmp_path):
    from tests.app.io.conftest import blobs
    from tests.app.io.conftest import write_volume as write_array
    from tests.app.test_batch_robustness import _descendants, _wait_until_gone

    rng = np.random.default_rng(0)
    for folder in ("gt", "pred"):
        (tmp_path / folder).mkdir()
    for i in range(30):
        gt = blobs(rng, (32, 96, 96), 4)
        write_array(tmp_path / "gt" / f"c{i:02d}.nii.gz", gt)
        write_array(tmp_path / "pred" / f"c{i:02d}.nii.gz", np.roll(gt, 2, axis=1))
    out, log = tmp_path / "out", tmp_path / "batch.log"
    with log.open("wb") as stream:   # a file, not a pipe: an orphaned worker would hold a pipe open
        process = subprocess.Popen(
            [sys.executable, "-m", "app", *_argv(tmp_path / "gt", tmp_path / "pred", out, "--distances",
                                                  "--scheduler", "local:2")],
            cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, stdin=subprocess.DEVNULL,
            stdout=stream, stderr=stream, start_new_session=True)
    deadline = time.monotonic() + 240   # bounds a hang on a loaded machine; measures nothing
    while not list(out.glob("cases/*.json")):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the batch scored no case"
        time.sleep(0.05)
    children = _descendants(process.pid)
    assert process.poll() is None, "the batch finished before it could be stopped"
    os.killpg(process.pid, signal.SIGINT)   # Ctrl-C in a terminal: the whole process group
    process.wait(timeout=120)
    err = log.read_text()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].endswith(" of 30 cases scored; rerun with --resume"), err
    assert not _wait_until_gone(children)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "an interrupted write left a temporary file"


def test_max_voxels_reaches_the_cluster_workers(cluster, tmp_path, monkeypatch):
    from app.io.limits import MAX_VOXELS_VARIABLE

    address, _ = cluster   # its workers started before --max-voxels was given
    monkeypatch.setenv(MAX_VOXELS_VARIABLE, "")   # no machine-wide default in this test
    gt_dir, pred_dir = _dataset(tmp_path, broken=None)
    out = tmp_path / "out"
    assert main(_argv(gt_dir, pred_dir, out, "--scheduler", address, "--max-voxels", "100")) == 3
    errors = _errors(out)
    assert sorted(errors) == list(CASES) and all("100" in message for message in errors.values())


def _malloc_trim_threshold() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def _worker_saturation(dask_scheduler) -> float:
    return dask_scheduler.WORKER_SATURATION


def _http_address(dask_scheduler) -> tuple[str, int]:
    return dask_scheduler.http_server.address, dask_scheduler.http_server.port


def test_local_cluster_workers_hold_one_case_and_keep_glibc_adaptive_mmap(cluster):
    _, client = cluster
    assert set(client.run(_malloc_trim_threshold).values()) == {None}   # set, it made cases 1.7x slower
    assert client.run_on_scheduler(_worker_saturation) == 1.0   # a dying worker takes no bystander case


def test_local_cluster_serves_http_on_loopback_only_and_a_free_port(cluster):
    _, client = cluster
    host, port = client.run_on_scheduler(_http_address)
    assert host == "127.0.0.1" and port != 8787   # 8787 taken by another cluster would print a warning


def _memory_limit(dask_worker) -> int | None:
    return dask_worker.memory_manager.memory_limit


def test_local_cluster_workers_have_no_memory_limit_like_the_local_pool(cluster):
    _, client = cluster
    assert set(client.run(_memory_limit).values()) == {None}   # Dask's default would pause or kill them
