"""Score a batch's cases on a Dask cluster (``dicelens batch --scheduler``): one task per case, paths only.

- ``--scheduler tcp://HOST:PORT`` connects to a running scheduler; ``--scheduler local:N`` starts a
  ``LocalCluster`` of N single-threaded worker processes on this machine (loopback only) for the run.
- Data never travels through the scheduler: a task carries a :class:`~app.batch.worker.CaseJob`
  (paths and options) and the workers read the inputs from a file system they share with this
  machine, at the same absolute paths. Before any case is sent, every worker stats a few of the
  inputs; the run is refused (:class:`~app.errors.InputError`) when one cannot see them.
- Results: when every worker sees the output folder (it finds a probe file written there by this
  process) the workers write ``cases/<case>.json`` and the reports, as the local pool does;
  otherwise each task returns them and this process writes them. ``summary.json``'s
  ``"execution"`` record says which, with the scheduler's address and the number of workers.
- A case that fails (bad input, any error) comes back as an outcome with the worker's message and
  is not retried. A worker that dies during a case makes the scheduler fail the task with
  ``KilledWorker``; the case is then sent once more, and reported in ``errors.csv`` if that try
  dies too. The clusters started for ``local:N`` allow no silent retry of their own
  (``allowed_failures=0``); an existing cluster's scheduler applies its own
  ``distributed.scheduler.allowed-failures`` (default 3) before that.

Dask's ``distributed`` package is an optional extra (``pip install 'dicelens[distributed]'``); it
is imported only inside these functions, and this module only when ``--scheduler`` is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from app.batch.lifetime import sigint_ignored
from app.batch.worker import CaseJob, CaseOutcome, case_report_path, case_result_path, run_case
from app.errors import InputError

LOCAL_PREFIX = "local:"
INSTALL_HINT = "pip install 'dicelens[distributed]'"
CASE_ATTEMPTS = 2
"""Tries of a case whose worker died (KilledWorker): the first, and one retry."""
WORKER_DIED_TWICE = ("the Dask worker scoring this case died on both tries (killed, or out of memory); "
                     "rerun with --resume, on workers with more memory if memory is short")


def parse_scheduler(text: str) -> int | str:
    """``local:N`` → N (workers of a LocalCluster to start); ``tcp://HOST:PORT`` (any Dask address) → itself.

    Raises
    ------
    InputError
        ``local:`` without a positive whole number, or an address without a ``scheme://``.
    """
    if text.startswith(LOCAL_PREFIX):
        count = text[len(LOCAL_PREFIX):]
        if not count.isdigit() or int(count) < 1:
            raise InputError(f"--scheduler '{text}': give local:N with N worker processes (local:4), "
                             "or the address of a running Dask scheduler (tcp://HOST:8786).")
        return int(count)
    if "://" not in text:
        raise InputError(f"--scheduler '{text}' is not a Dask scheduler address; give tcp://HOST:PORT "
                         "(as printed by `dask scheduler`), or local:N to start N workers on this machine.")
    return text


def start_local_cluster(workers: int):
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded processes on the loopback interface.

    No dashboard, and ``allowed_failures=0``: a task whose worker dies fails at once with
    ``KilledWorker`` (the batch retries it once itself). No memory limit (as the local pool: Dask's
    default, a share of this machine's memory, would pause or kill a worker on a large case). A
    worker holds one case at a time (``worker-saturation`` 1.0), so a dying worker takes no other
    case with it. The workers start ignoring Ctrl-C, and without Dask's default
    ``MALLOC_TRIM_THRESHOLD_``: it turns off glibc's adaptive mmap threshold, so every volume-sized
    array is mapped and zero-filled afresh, which made a case 1.7× slower (``bench/batch.py``).
    """
    import dask
    import distributed

    environ = {name: value for name, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
               if name != "MALLOC_TRIM_THRESHOLD_"}
    with sigint_ignored(), dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                                            "distributed.nanny.pre-spawn-environ": environ}):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None, memory_limit=0,
                                        silence_logs=logging.ERROR,
                                        # its health/metrics HTTP server: loopback, any free port (not 8787)
                                        scheduler_kwargs={"allowed_failures": 0, "dashboard_address": "127.0.0.1:0"})


class DaskExecution:
    """The connection to a Dask cluster for one batch run (close it with :meth:`close`).

    Parameters
    ----------
    scheduler : str
        ``--scheduler`` as given (``local:N`` or an address).
    timeout_s : float
        Seconds to wait for the scheduler, and for a first worker.
    out_dir : Path
        The batch's output folder (exists).
    inputs : sequence of str
        Input paths every worker must be able to read (a few of the dataset's).

    Raises
    ------
    InputError
        ``distributed`` is not installed, the scheduler cannot be reached or has no worker in
        ``timeout_s``, or a worker cannot see the inputs.
    """

    def __init__(self, scheduler: str, timeout_s: float, out_dir: Path, inputs: Sequence[str]) -> None:
        target = parse_scheduler(scheduler)
        try:
            import distributed
        except ImportError:
            raise InputError(f"--scheduler needs Dask's distributed package, which is not installed; "
                             f"{INSTALL_HINT}, or leave out --scheduler to use this machine's cores "
                             "(--jobs).") from None
        self.scheduler = scheduler
        self.out_dir = out_dir
        self._cluster = start_local_cluster(target) if isinstance(target, int) else None
        address = self._cluster.scheduler_address if self._cluster is not None else target
        try:
            self.client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as error:
            self._close_cluster()
            raise InputError(f"--scheduler: cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
                             f"({error}); start it (`dask scheduler`) or check the address, or give more time "
                             "with --scheduler-timeout.") from None
        try:
            self._check_workers(address, timeout_s, inputs)
        except BaseException:
            self.close()
            raise

    def _check_workers(self, address: str, timeout_s: float, inputs: Sequence[str]) -> None:
        try:
            self.client.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError:
            raise InputError(f"--scheduler: no Dask worker joined the scheduler at {address} within "
                             f"{timeout_s:g} s; start workers (`dask worker {address}`).") from None
        token = secrets.token_hex(8)
        probe = self.out_dir / f".dicelens-probe-{token}.tmp"
        try:
            probe.write_text(token, encoding="utf-8")
        except OSError as error:
            raise InputError(f"--out '{self.out_dir}': cannot write in the output folder ({error.strerror}).") from None
        try:
            seen = self.client.run(probe_worker, list(inputs), str(probe), token)
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()
        for worker, (missing, _) in sorted(seen.items()):
            if missing:
                raise InputError(f"--scheduler: the Dask worker {worker} cannot see the input '{missing[0]}'. "
                                 "Workers read the cases from a file system shared with this machine, at the "
                                 "same paths; mount it there, or run without --scheduler.")
        self.workers = len(seen)
        self.threads = sum(self.client.nthreads().values())
        self.shared_out = all(sees_out for _, sees_out in seen.values())
        self.address = address

    @property
    def execution(self) -> dict:
        """The ``"execution"`` record of ``summary.json``."""
        return {"executor": "dask", "scheduler": self.scheduler, "scheduler_address": self.address,
                "workers": self.workers, "threads": self.threads,
                "results_written_by": "workers" if self.shared_out else "client"}

    def describe(self) -> str:
        """One line for the batch's output."""
        where = ("by the workers (they share the output folder)" if self.shared_out
                 else "here (the workers do not see the output folder)")
        return (f"Dask scheduler {self.address} ({self.scheduler}), {self.workers} workers, "
                f"{self.threads} threads; results written {where}")

    def outcomes(self, jobs: Sequence[CaseJob]) -> Iterator[CaseOutcome]:
        """Submit one task per case and yield the outcomes as they complete (results written by then)."""
        from distributed import KilledWorker, as_completed

        jobs = [dataclasses.replace(job, return_result=not self.shared_out) for job in jobs]
        tries: dict = {}
        pending = as_completed([self._submit(job, tries, 1) for job in jobs], loop=self.client.loop)
        try:
            for future in pending:
                job, attempt = tries.pop(future)
                if future.status == "finished":
                    outcome = self._written(future.result())
                else:
                    error = _exception(future)
                    if isinstance(error, KilledWorker) and attempt < CASE_ATTEMPTS:
                        pending.add(self._submit(job, tries, attempt + 1))
                        future.release()
                        continue
                    outcome = CaseOutcome(job.files.name, WORKER_DIED_TWICE if isinstance(error, KilledWorker)
                                          else f"the Dask task failed: {type(error).__name__}: {error}")
                future.release()
                yield outcome
        except BaseException:   # Ctrl-C, or the caller stopped early: nothing more is scored
            with contextlib.suppress(Exception):
                self.client.cancel(list(tries))
            self.close()   # a local:N cluster's workers stop before the batch removes their temporary files
            raise

    def _submit(self, job: CaseJob, tries: dict, attempt: int):
        future = self.client.submit(score_on_worker, job, pure=False,
                                    key=f"dicelens-case-{job.files.name}-{secrets.token_hex(6)}")
        tries[future] = (job, attempt)
        return future

    def _written(self, outcome: CaseOutcome) -> CaseOutcome:
        """Write a result the worker returned (report first: a result file means a complete case)."""
        if not outcome.result_json:
            return outcome
        from app.io import write_text_atomic

        try:
            if outcome.report_pdf:
                write_bytes_atomic(case_report_path(self.out_dir, outcome.name), outcome.report_pdf)
            write_text_atomic(case_result_path(self.out_dir, outcome.name), outcome.result_json)
        except (InputError, OSError) as error:
            return CaseOutcome(outcome.name, f"the case was scored but its result could not be written here: "
                                             f"{error}", outcome.seconds)
        return CaseOutcome(outcome.name, "", outcome.seconds)

    def close(self) -> None:
        """Disconnect; stop the LocalCluster of ``local:N``."""
        with contextlib.suppress(Exception):
            self.client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def _exception(future) -> BaseException:
    try:
        return future.exception()
    except BaseException as error:   # a cancelled future raises instead of returning its exception
        return error


def score_on_worker(job: CaseJob) -> CaseOutcome:
    """The task: score one case on a Dask worker (``--max-voxels`` travels in the job).

    Tasks name this function, which finds :func:`run_case` on the worker when it runs.
    """
    return run_case(job)


def probe_worker(inputs: list[str], probe: str, token: str) -> tuple[list[str], bool]:
    """Run on every worker: the ``inputs`` it cannot see, and whether it sees the probe file holding ``token``."""
    return missing_inputs(inputs), sees_probe(probe, token)


def missing_inputs(inputs: list[str]) -> list[str]:
    """The paths of ``inputs`` that do not exist here."""
    return [path for path in inputs if not os.path.exists(path)]


def sees_probe(probe: str, token: str) -> bool:
    """Whether the file ``probe`` exists here and holds ``token`` (the output folder is shared)."""
    try:
        return Path(probe).read_text(encoding="utf-8") == token
    except OSError:
        return False


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (hidden temporary in the same folder, fsync, rename)."""
    from app.io.writing import fsync_directory

    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def probe_inputs(cases: Sequence, labels: str | None) -> list[str]:
    """A few input paths of the dataset to check on every worker: first and last case, and the label table."""
    chosen = [cases[0], cases[-1]] if len(cases) > 1 else list(cases)
    paths = [path for files in chosen for path in (files.gt, files.pred, files.image) if path is not None]
    return paths + ([labels] if labels is not None else [])
