"""``python -m app`` and the ``dicelens`` console script: :func:`app.cli.main` run as a process.

An interrupted command (Ctrl-C, exit code 130) has stopped its worker processes, removed its temporary
files and printed its one line; a ``dicelens view`` may end while the case it began reading is still
being read. Such a process ends through :func:`app.process_exit.end_process` (exit handlers run, output
flushed, then ``os._exit``) instead of the interpreter's shutdown: a thread may still be inside a native
library call (a case being read by SimpleITK, on a reading thread no one joins), and Python's shutdown
ends such a thread with a forced unwind that the library's C++ ``catch (...)`` swallows: glibc then
aborts the process after the last line was printed ("FATAL: exception not rethrown", exit -6).
"""

import sys
import traceback

from app.cli import EXIT_INTERRUPTED
from app.cli import main as run_command
from app.process_exit import end_process, unfinished_threads

EXIT_UNCAUGHT = 1
"""What Python exits with after an uncaught exception's traceback."""


def main(argv: list[str] | None = None) -> int:
    """Run ``dicelens`` with ``argv`` (default: ``sys.argv[1:]``); return its exit code, or end the process
    with that code at once after an interrupt or while a thread given to
    :func:`app.process_exit.abandon_at_exit` still runs (exit handlers run and output flushed first)."""
    try:
        code = run_command(argv)
    except Exception:   # an unexpected error: its traceback, as Python prints it, and exit 1
        if not unfinished_threads():
            raise
        traceback.print_exc()
        code = EXIT_UNCAUGHT
    if code == EXIT_INTERRUPTED or unfinished_threads():
        end_process(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
