"""Threads import torch and the engine one at a time, through app.engine_import (docs/architecture.md §4)."""

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from app.engine_import import import_engine, imported_engine

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_thread_waits_until_the_first_has_finished_its_import(tmp_path, monkeypatch):
    # Two stand-ins for heavy modules. The first one's import waits (up to 5 s) for the second one's to
    # begin: under the guard the second cannot begin before the first has ended.
    events: list[str] = []
    first_running, second_began = threading.Event(), threading.Event()
    monkeypatch.setattr(sys, "engine_import_probe", (events, first_running, second_began), raising=False)
    (tmp_path / "engine_import_first.py").write_text(
        "import sys\nevents, running, second = sys.engine_import_probe\nevents.append('first began')\n"
        "running.set()\nsecond.wait(5)\nevents.append('first ended')\n")
    (tmp_path / "engine_import_second.py").write_text(
        "import sys\nevents, running, second = sys.engine_import_probe\nevents.append('second began')\n"
        "second.set()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("engine_import_first", "engine_import_second"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    first = threading.Thread(target=import_engine, args=("engine_import_first",))
    first.start()
    assert first_running.wait(30)
    second = threading.Thread(target=import_engine, args=("engine_import_second",))
    second.start()
    first.join(30)
    second.join(30)
    assert events == ["first began", "first ended", "second began"]
    assert {"engine_import_first", "engine_import_second"} <= set(sys.modules)


def test_imported_engine_never_imports_it():
    code = textwrap.dedent("""
        import sys
        from app.engine_import import import_engine, imported_engine
        before, torch_before = imported_engine(), "torch" in sys.modules
        engine = import_engine()
        print(before is None, torch_before, engine is imported_engine() is sys.modules["dice_engine"])
    """)
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split() == ["True", "False", "True"]
    assert imported_engine() is import_engine()   # this process has the engine: a look-up


def test_threads_importing_the_engine_at_once_in_a_fresh_process_all_get_it_whole():
    code = textwrap.dedent("""
        import sys
        import threading
        from app.engine_import import import_engine

        wanted = ["", "dice_engine.live_objects", "dice_engine.distance_state", "scipy.ndimage", "",
                  "dice_engine.objects"]
        start = threading.Barrier(len(wanted))
        outcomes = {}

        def use(index, module):
            start.wait()
            try:
                de = import_engine(*([module] if module else []))
                import torch
                counts = de.confusion_matrix(target=torch.tensor([0, 1, 1]), preds=torch.tensor([0, 1, 0]),
                                             num_classes=2)
                outcomes[index] = (counts.tolist() == [[1, 0], [1, 1]]
                                   and (not module or module in sys.modules) and hasattr(de, "LiveDice"))
            except BaseException as error:
                outcomes[index] = repr(error)

        threads = [threading.Thread(target=use, args=(i, m)) for i, m in enumerate(wanted)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(outcomes)
        print(all(outcomes.get(i) is True for i in range(len(wanted))))
    """)
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.splitlines()[-1] == "True", completed.stdout
