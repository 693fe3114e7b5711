"""Fixtures shared by the window tests."""

import pytest

from tests.app.qt.editing_cases import open_window, write_case


@pytest.fixture
def window(qtbot, tmp_path):
    """The review window on the small editing case (:func:`write_case`); closed discarding its edits.

    Test modules that need another case define their own ``window`` fixture, which takes precedence.
    """
    win = open_window(qtbot, tmp_path, write_case(tmp_path))
    yield win
    win.answers.answer = "discard"
    win.close()
