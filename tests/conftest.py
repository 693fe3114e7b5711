"""Test-wide settings: Qt runs headless, and no test writes to the user's data or settings folders."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Every case the review window opens gets a crash-journal folder under the user data directory;
# tests must neither leave journals in the real one nor find a journal left there by a real session
# (which would make the window ask about recovery). One throw-away folder for the whole session.
_DATA_DIR = tempfile.TemporaryDirectory(prefix="dicelens-test-data-")
os.environ["DICELENS_DATA_DIR"] = _DATA_DIR.name
# Likewise for QSettings("DiceLens", ...) of code under test that is not handed its own settings file.
os.environ["XDG_CONFIG_HOME"] = os.path.join(_DATA_DIR.name, "config")
