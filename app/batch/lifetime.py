"""Lifetimes of a batch's worker processes: they die with the batch, ignore Ctrl-C, leave no temporary file.

- A worker exits when the batch process that started it dies, even by ``kill -9``: on Linux the
  kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also checks every
  :data:`PARENT_POLL_S` seconds whether its parent is still the batch process and ends it if not.
- Ctrl-C in a terminal signals the whole process group. Workers ignore SIGINT (they are started with
  it ignored, and their initializer ignores it again), so only the batch process reacts: it cancels
  the pool, stops the workers and prints one line.
- Workers stopped that way, or killed with their parent, may leave the temporary names the atomic
  writers use (``.<name>.<random>.tmp``); the batch removes them from its output folders when it
  is interrupted and before every run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1


def bind_to_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (the process that started it) ends; ignore SIGINT.

    Called first in a worker's initializer. If the parent is already gone, exits at once.
    """
    with contextlib.suppress(ValueError):   # not the main thread: nothing to change
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:   # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="dicelens-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    """Portable fallback: once the parent is gone this process is re-parented; end it then."""
    stop = threading.Event()
    while not stop.wait(PARENT_POLL_S):
        if os.getppid() != parent_pid:
            os._exit(1)


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes are started, so they begin life ignoring it too.

    A signal disposition of "ignore" survives ``exec``, and Python then installs no
    KeyboardInterrupt handler: a worker cannot print a traceback on Ctrl-C even before its
    initializer runs. A SIGINT arriving inside this short block (the pool's start) is lost.
    Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def terminate_processes(processes: Iterable) -> None:
    """Kill ``multiprocessing`` processes and wait for them (a worker ignores SIGINT and SIGTERM may be slow)."""
    processes = list(processes)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            process.join(timeout=5)


def remove_stale_temporaries(folders: Iterable[Path]) -> list[Path]:
    """Delete the hidden ``.*.tmp`` files and folders the atomic writers leave when killed; return them.

    Only direct entries of ``folders`` (the batch's output folder, ``cases/``, ``reports/``) are
    looked at: nothing else writes there.
    """
    removed = []
    for folder in folders:
        with contextlib.suppress(OSError):
            for entry in Path(folder).iterdir():
                if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                removed.append(entry)
    return removed
