"""A ``dicelens view`` that ends while its early read is still inside SimpleITK ends with its own exit code
and last line, not glibc's abort (app/process_exit.py, docs/architecture.md §4 "Ctrl-C")."""

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np

from app.process_exit import abandon_at_exit, unfinished_threads
from tests.app.io.conftest import write_volume

ROOT = Path(__file__).resolve().parents[2]

# ``dicelens view`` (python -m app) whose case read never ends: SimpleITK reads the ground truth over and
# over on the early read's thread, and the command goes on once that has begun. MODE plants how the command
# ends while that read runs.
DRIVER = textwrap.dedent("""
    import runpy, sys, threading
    import SimpleITK as sitk
    import app.io
    import app.qt.early_start

    reading = threading.Event()

    def read_forever(gt, *args, **kwargs):
        while True:
            reading.set()
            sitk.ReadImage(gt)

    def start_and_wait(self, *args, **kwargs):
        start(self, *args, **kwargs)
        reading.wait()

    app.io.load_case = read_forever
    start = app.qt.early_start.EarlyCaseRead.__init__
    app.qt.early_start.EarlyCaseRead.__init__ = start_and_wait
    mode = sys.argv.pop(1)
    if mode == "refused":
        import app.qt.app_runner
        from app.errors import InputError

        def refused(*args, **kwargs):
            raise InputError("refused input")

        app.qt.app_runner.run_view = refused
    elif mode == "qt-broken":
        sys.modules["app.qt.app_runner"] = None   # importing the window fails (ImportError)
    elif mode == "closed":
        from PySide6.QtCore import QTimer
        from app.qt.main_window import MainWindow

        show = MainWindow.show

        def show_and_close(self):
            show(self)
            QTimer.singleShot(0, self.close)   # the user closes the window at once

        MainWindow.show = show_and_close
    sys.argv = ["dicelens", *sys.argv[1:]]
    runpy.run_module("app", run_name="__main__")
""")


def run_view_ending(mode: str, tmp_path: Path) -> subprocess.CompletedProcess:
    paths = [write_volume(tmp_path / f"{role}.nii.gz", np.zeros((16, 64, 64), np.uint8)) for role in ("gt", "pred")]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               DICELENS_DATA_DIR=str(tmp_path / "data"))
    command = [sys.executable, "-c", DRIVER, mode, "view", "--gt", str(paths[0]), "--pred", str(paths[1])]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_a_refused_input_while_the_case_is_still_read_exits_2_with_its_one_line(tmp_path):
    completed = run_view_ending("refused", tmp_path)
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert completed.stderr.strip().splitlines() == ["dicelens: error: refused input"]


def test_an_unexpected_error_while_the_case_is_still_read_exits_1_with_its_traceback(tmp_path):
    completed = run_view_ending("qt-broken", tmp_path)
    assert completed.returncode == 1, completed.stderr[-3000:]
    lines = completed.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):" and lines[-1].startswith("ModuleNotFoundError:")
    assert "FATAL" not in completed.stderr


def test_only_threads_still_running_are_unfinished():
    gate = threading.Event()
    running = threading.Thread(target=gate.wait, daemon=True)
    finished = threading.Thread(target=lambda: None, daemon=True)
    for thread in (running, finished):
        thread.start()
        abandon_at_exit(thread)
    finished.join()
    try:
        assert running in unfinished_threads() and finished not in unfinished_threads()
    finally:
        gate.set()
        running.join()
    assert running not in unfinished_threads()


def test_the_window_closed_while_the_case_is_still_read_ends_the_process_without_waiting_for_the_read(tmp_path):
    # The open lane's wait for the early read stops at the close's cancel (app/qt/early_start.py): a read
    # that never ends would otherwise keep the closed window's process alive (and time this test out).
    completed = run_view_ending("closed", tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "FATAL" not in completed.stderr and "Traceback" not in completed.stderr
