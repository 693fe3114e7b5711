"""Start-up timestamps, Qt-free: :func:`stamp` prints one when ``DICELENS_STARTUP_TRACE=1``.

Each line on stderr reads ``dicelens-startup <event> <unix time>``; ``bench/startup.py`` reads them.
Qt-free so that the threads ``dicelens view`` starts before Qt is imported (:mod:`app.qt.early_start`)
can stamp too; :mod:`app.qt.startup_trace` stamps the window's first paints.
"""

from __future__ import annotations

import os
import sys
import time

ENVIRONMENT_VARIABLE = "DICELENS_STARTUP_TRACE"
PREFIX = "dicelens-startup"


def enabled() -> bool:
    """True when the environment asks for start-up timestamps."""
    return os.environ.get(ENVIRONMENT_VARIABLE) == "1"


def stamp(event: str) -> None:
    """Print ``event`` with the current unix time when tracing is enabled (any thread)."""
    if enabled():
        print(f"{PREFIX} {event} {time.time():.6f}", file=sys.stderr, flush=True)
