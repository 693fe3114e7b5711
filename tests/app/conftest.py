"""Fixtures shared by every test of ``app``: no automatic cycle collection inside a test (app/qt/safe_gc.py)."""

import gc

import pytest

from app.qt.safe_gc import collect_due


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Automatic collection off during the test, the due generations collected after it, between Qt calls.

    A collection started inside a Qt call can hang the process (app/qt/safe_gc.py); the window's own
    process collects on a GUI-thread timer instead, which a test's event loop may not run.
    """
    threshold = gc.get_threshold()
    enabled = gc.isenabled()
    gc.disable()
    yield
    collect_due(threshold)
    if enabled:
        gc.enable()
