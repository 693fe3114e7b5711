"""A text progress bar on stderr: cases done, failures, rate and time left."""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 28
# Without a terminal (a log file), print a line at most this often.
LOG_INTERVAL_S = 5.0


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` for a number of seconds (rounded up)."""
    total = int(seconds + 0.999)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


class ProgressBar:
    """Draws ``[#####.....] 12/20 cases, 1 failed, 2.3 cases/s, 0:00:04 left``.

    Parameters
    ----------
    total : int
        Cases to process in this run.
    stream : file, optional
        Default ``sys.stderr``; redrawn in place on a terminal, one line every few seconds otherwise.
    clock : callable, optional
        Seconds since an arbitrary start (``time.monotonic``), replaceable in tests.
    """

    def __init__(self, total: int, stream=None, clock=time.monotonic) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._start = clock()
        self._last_log = -LOG_INTERVAL_S
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.failed = 0

    def line(self) -> str:
        """The current progress line."""
        elapsed = self._clock() - self._start
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        text = f"[{bar}] {self.done}/{self.total} cases"
        if self.failed:
            text += f", {self.failed} failed"
        if self.done and elapsed > 0:
            rate = self.done / elapsed
            text += f", {rate:.2f} cases/s, {format_duration((self.total - self.done) / rate)} left"
        return text

    def advance(self, failed: bool = False) -> None:
        """One more case finished (``failed`` when it went to errors.csv)."""
        self.done += 1
        self.failed += int(failed)
        now = self._clock()
        if self._interactive:
            self.stream.write("\r" + self.line())
            self.stream.flush()
        elif now - self._last_log >= LOG_INTERVAL_S or self.done == self.total:
            self._last_log = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """End the in-place line on a terminal."""
        if self._interactive:
            self.stream.write("\n")
            self.stream.flush()
