"""How a ``dicelens`` process ends while a thread may still be inside a native library call.

Python's shutdown ends a daemon thread that is still running with a forced unwind (``pthread_exit``) when
it next asks for the GIL. A thread inside SimpleITK then unwinds through the library's C++
``catch (...)``, which swallows the unwind, and glibc aborts the process ("FATAL: exception not
rethrown", exit -6), after the command printed its last line. Two kinds of exit meet such a thread:

- an interrupted command (Ctrl-C, exit 130): a reading thread whose start the interrupt cut short, so
  that no one joins it;
- ``dicelens view`` ending (a refused input, an error, the window closed) while the case it began to read
  before Qt was imported (:class:`app.qt.early_start.EarlyCaseRead`) is still being read.

Such a process ends through :func:`end_process`: what a normal exit runs first, then ``os._exit`` with
the command's exit code, without the interpreter's shutdown. A thread whose unfinished work may be
dropped (it only reads) says so with :func:`abandon_at_exit` (docs/architecture.md §4, "Ctrl-C").
Qt-free; imports nothing of ``app``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

_abandoned: list[threading.Thread] = []
_lock = threading.Lock()


def abandon_at_exit(thread: threading.Thread) -> None:
    """Let the process end without waiting for ``thread`` when it is still running at exit.

    For a daemon thread that may be inside a native library call (a SimpleITK read) and whose result
    nobody needs once the command has ended: :func:`unfinished_threads` then names it, and the process
    entry (``app/__main__.py``) ends through :func:`end_process` instead of Python's shutdown.
    """
    with _lock:
        _abandoned[:] = [known for known in _abandoned if known.is_alive()]
        _abandoned.append(thread)


def unfinished_threads() -> list[threading.Thread]:
    """The threads given to :func:`abandon_at_exit` that are still running."""
    with _lock:
        return [thread for thread in _abandoned if thread.is_alive()]


def end_process(code: int) -> NoReturn:
    """End the process with ``code`` now, without the interpreter's shutdown.

    First what a normal exit runs (the exit handlers: pools stopped, multiprocessing's clean-up), then
    stdout and stderr are flushed, then ``os._exit(code)``: no thread is unwound.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):   # a closed or broken stream: nothing more can be told
            stream.flush()
    os._exit(code)
