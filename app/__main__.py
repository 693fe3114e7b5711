"""``python -m app`` and the ``dicelens`` console script: :func:`app.cli.main` run as a process.

An interrupted command (Ctrl-C, exit code 130) has stopped its worker processes, removed its temporary
files and printed its one line. The process then runs its exit handlers (pools, multiprocessing's
clean-up), flushes its output and ends at once, without the interpreter's shutdown: a thread may still be
inside a native library call (a case being read by SimpleITK on a reading thread whose start the
interrupt cut short, so that no one joins it), and Python's shutdown ends such a thread with a forced
unwind that the library's C++ ``catch (...)`` swallows: glibc then aborts the process after the line was
printed ("FATAL: exception not rethrown", exit -6).
"""

import atexit
import contextlib
import os
import sys

from app.cli import EXIT_INTERRUPTED
from app.cli import main as run_command


def main(argv: list[str] | None = None) -> int:
    """Run ``dicelens`` with ``argv`` (default: ``sys.argv[1:]``); return its exit code, or end the process
    with code 130 after an interrupt (exit handlers run and stdout and stderr flushed first)."""
    code = run_command(argv)
    if code == EXIT_INTERRUPTED:
        atexit._run_exitfuncs()   # what a normal exit runs first: pools stopped, multiprocessing's clean-up
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):   # a closed or broken stream: nothing more can be told
                stream.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
