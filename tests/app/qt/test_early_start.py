"""``dicelens view`` reads the case and loads torch's libraries on threads before Qt is imported
(app/qt/early_start.py, docs/architecture.md §4, start-up): the window's first load takes that read
(its case or its error), any other load reads as always, and the preload imports nothing."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from app.errors import InputError
from app.qt.early_start import EarlyCaseRead
from tests.app.qt.test_main_window import write_case


def never(*_args):
    raise AssertionError("the fallback reader must not be called for the early read's own request")


def test_the_first_matching_load_takes_the_early_read_and_lets_go_of_it(tmp_path):
    from app.io import load_case

    paths = write_case(tmp_path)
    early = EarlyCaseRead(paths, False, None)
    case = early.reader(never)(dict(paths), False, None)
    expected = load_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    assert np.array_equal(case.gt, expected.gt) and np.array_equal(case.pred, expected.pred)
    assert np.array_equal(case.image, expected.image)
    assert early._case is None   # the window owns the case now: a later case can replace it in memory
    calls = []

    def fallback(paths_, resample, max_voxels):
        calls.append((paths_, resample, max_voxels))
        return "read again"

    # The same files again (File → Open recent): read anew, not the early copy.
    assert early.reader(fallback)(dict(paths), False, None) == "read again"
    assert calls == [(paths, False, None)]


def test_a_load_of_other_files_or_options_reads_with_the_fallback(tmp_path):
    paths = write_case(tmp_path)
    early = EarlyCaseRead(paths, False, None)
    calls = []

    def fallback(paths_, resample, max_voxels):
        calls.append((resample, max_voxels))
        return "fallback"

    read = early.reader(fallback)
    assert read(dict(paths), True, None) == "fallback"        # resampling asked: not what was read
    assert read(dict(paths), False, 10) == "fallback"         # another voxel limit
    assert read({**paths, "labels": None}, False, None) == "fallback"
    assert calls == [(True, None), (False, 10), (False, None)]
    assert read(dict(paths), False, None).gt.shape == (6, 8, 9)


def test_a_bad_file_fails_the_window_load_with_the_readers_message(tmp_path):
    paths = write_case(tmp_path)
    (tmp_path / "broken.nii.gz").write_bytes(b"not an image")
    paths["pred"] = str(tmp_path / "broken.nii.gz")
    early = EarlyCaseRead(paths, False, None)
    with pytest.raises(InputError) as raised:
        early.reader(never)(dict(paths), False, None)
    assert "broken.nii.gz" in str(raised.value)


def test_the_torch_preload_loads_the_libraries_without_importing_torch_and_torch_still_works():
    code = textwrap.dedent("""
        import sys
        from app.qt.early_start import preload_torch_libraries
        loaded = preload_torch_libraries()
        before = "torch" in sys.modules
        maps = open("/proc/self/maps").read()
        import torch
        print(loaded, before, "libtorch_cpu" in maps, float(torch.ones(3).sum()))
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["True", "False", "True", "3.0"]


def test_the_view_command_starts_reading_before_it_imports_qt(tmp_path):
    """The early threads start before PySide6, pyqtgraph or the window are imported (the GUI thread's
    critical path), and the window's first load is the early read."""
    paths = write_case(tmp_path)
    code = textwrap.dedent(f"""
        import sys
        import app.qt.early_start as early_start
        from app.cli import main

        seen = {{}}
        original = early_start.EarlyCaseRead.__init__

        def fake_run_window(paths, **options):
            case = options["early_read"].reader(None)(paths, options["resample"], options["max_voxels"])
            print(seen["qt"], seen["window"], case.gt.shape)
            return 0

        def recording(self, *args, **kwargs):
            seen["qt"] = sorted({{m.split(".")[0] for m in sys.modules}} & {{"PySide6", "pyqtgraph", "torch"}})
            seen["window"] = "app.qt.main_window" in sys.modules
            original(self, *args, **kwargs)
            import app.qt.app_runner as runner   # imported by the command only after this
            runner._run_window = fake_run_window

        early_start.EarlyCaseRead.__init__ = recording
        sys.exit(main(["view", "--gt", {paths['gt']!r}, "--pred", {paths['pred']!r},
                       "--image", {paths['image']!r}, "--labels", {paths['labels']!r}]))
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                               env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[] False (6, 8, 9)"
