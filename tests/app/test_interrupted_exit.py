"""An interrupted command ends its process with exit 130 and its one line, whatever thread still runs native code."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from tests.app.io.conftest import write_volume

ROOT = Path(__file__).resolve().parents[2]


def test_a_thread_still_reading_with_simpleitk_does_not_abort_the_interrupted_process(tmp_path):
    # A reading thread that no one joins (as one whose start Ctrl-C cut short): Python's shutdown would
    # end it inside SimpleITK's C++ with a forced unwind, and glibc aborts ("FATAL: exception not rethrown").
    volume = tmp_path / "case.nii.gz"
    write_volume(volume, np.zeros((16, 64, 64), np.uint8))
    code = textwrap.dedent("""
        import runpy, sys, threading, time
        import SimpleITK as sitk
        import app.cli

        def read_forever():
            while True:
                sitk.ReadImage(sys.argv[1])

        def interrupted_command(argv=None):
            threading.Thread(target=read_forever, daemon=True).start()
            time.sleep(0.3)
            print("dicelens batch: interrupted: 0 of 1 cases scored; rerun with --resume", file=sys.stderr)
            return app.cli.EXIT_INTERRUPTED

        app.cli.main = interrupted_command
        runpy.run_module("app", run_name="__main__")   # python -m app
    """)
    completed = subprocess.run([sys.executable, "-c", code, str(volume)], cwd=ROOT, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 130, completed.stderr[-3000:]
    assert completed.stderr.strip().splitlines() == [
        "dicelens batch: interrupted: 0 of 1 cases scored; rerun with --resume"]


def test_the_dicelens_console_script_is_this_entry():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dicelens = "app.__main__:main"' in text
