"""The window's process hands the GIL between threads every 0.5 ms, not CPython's default 5 ms."""

import sys

from app.qt import app_runner


def test_the_window_process_shortens_the_gil_switch_interval(qapp):
    default = sys.getswitchinterval()
    try:
        app_runner._application()
        assert sys.getswitchinterval() == app_runner.GIL_SWITCH_INTERVAL_S < 0.005
    finally:
        sys.setswitchinterval(default)
