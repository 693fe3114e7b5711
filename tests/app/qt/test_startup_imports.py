"""Nothing slow stands between launch and the first picture: importing the window (and the ``view``
command) loads neither torch, the engine, surface distances nor scipy; they are imported later, on the
engine lane (docs/architecture.md §4, start-up)."""

import subprocess
import sys
import textwrap

SLOW = ("torch", "dice_engine", "scipy")


def test_importing_the_window_and_the_view_command_loads_no_slow_package():
    code = textwrap.dedent(f"""
        import sys
        import app.cli
        import app.commands.view
        import app.qt.app_runner
        import app.qt.main_window
        print(sorted({{name.split('.')[0] for name in sys.modules}} & set({SLOW!r})))
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                               env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_the_engine_warm_up_and_first_table_load_no_scipy_and_the_fill_warm_up_loads_ndimage_after():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from app.qt.engine_messages import LoadRequest
        from app.qt.engine_worker import WorkerState, process, warm_flood_fill, warm_up
        warm_up(1)
        gt = np.zeros((2, 8, 8), np.uint8); gt[:, 2:5, 2:5] = 1
        result, _ = process(WorkerState(), LoadRequest(generation=1, gt=gt, pred=gt.copy(), num_classes=2,
                                                       voxel_volume_ml=None, device="cpu"))
        print(type(result).__name__, all(name in sys.modules for name in ("torch", "dice_engine")),
              sorted(name for name in sys.modules if name.split(".")[0] == "scipy"))
        warm_flood_fill()
        print("scipy.ndimage" in sys.modules)
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines() == ["EngineResult True []", "True"]
