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


def test_the_engine_warm_up_imports_what_the_window_left_out():
    code = textwrap.dedent("""
        import sys
        from app.qt.engine_worker import warm_up
        warm_up(1)
        print(all(name in sys.modules for name in ("torch", "dice_engine", "scipy.ndimage")))
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "True"
