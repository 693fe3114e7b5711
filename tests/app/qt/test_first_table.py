"""The first Dice table of a case comes without torch (docs/architecture.md §10): counted in numpy on
its own lane while the engine loads, equal to the engine's and to ``dicelens score``'s numbers; edits
made before the engine is ready are counted by it exactly once; a first table older than an edit is
never shown; and in the window, nothing the GUI thread imports before that table is torch or scipy."""

import math
import subprocess
import sys
import textwrap
import threading
from dataclasses import fields

import numpy as np
from PySide6.QtCore import QCoreApplication

from app.io import load_case
from app.qt import engine_controller as controller_module
from app.qt.demo_case import demo_case_paths
from app.qt.engine_controller import EngineController
from app.qt.engine_messages import LoadRequest
from app.qt.engine_worker import WorkerState, first_table, process
from app.qt.job_cancel import hold
from app.qt.jobs import snapshot
from app.scoring import score_case
from dice_engine.live import LiveDice
from dice_engine.matrix_scores import ClassMetrics
from tests.app.qt.panels_cases import organ_case, random_deltas
from tests.app.qt.test_engine_controller import Recorder, sklearn_confusion


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_the_first_table_equals_the_engine_s_load_and_score_s_numbers():
    paths = demo_case_paths()
    case = load_case(paths["gt"], paths["pred"], image=paths.get("image"), labels=paths.get("labels"))
    request = LoadRequest(generation=3, gt=snapshot(case.gt), pred=snapshot(case.pred), num_classes=case.num_classes,
                          voxel_volume_ml=case.geometry.voxel_volume_ml, device="cpu")

    first = first_table(request)
    engine, _ = process(WorkerState(), request)

    assert first.first_table and not engine.first_table and first.slices is None and first.generation == 3
    np.testing.assert_array_equal(first.confusion, engine.confusion)
    for field in fields(ClassMetrics):
        np.testing.assert_array_equal(getattr(first.metrics, field.name), getattr(engine.metrics, field.name))
    assert same(first.dice_mean_foreground, engine.dice_mean_foreground)
    assert same(first.dice_loss_hard, engine.dice_loss_hard)
    assert first.n_undefined_foreground == engine.n_undefined_foreground
    scored = score_case(case, device="cpu").to_json()
    assert first.confusion.tolist() == [list(row) for row in scored["confusion_matrix"]]
    assert [None if math.isnan(d) else d for d in first.metrics.dice] == [row["dice"] for row in scored["classes"]]
    assert first.dice_mean_foreground == scored["dice_mean_foreground"]
    assert first.dice_loss_hard == scored["dice_loss"]["hard"]


def test_a_label_the_engine_refuses_gives_no_first_table():
    gt = np.array([[[0, 1, 7]]], np.uint8)
    request = LoadRequest(generation=1, gt=gt, pred=gt, num_classes=3, voxel_volume_ml=None, device="cpu")
    assert first_table(request) is None   # the engine's load reports it


def test_the_first_table_comes_while_the_engine_is_held_and_early_edits_are_counted_once(qtbot, monkeypatch):
    applied = []
    original = LiveDice.apply_edit
    monkeypatch.setattr(LiveDice, "apply_edit", lambda self, *a, **k: (applied.append(1), original(self, *a, **k))[1])
    controller = EngineController(device="cpu")
    recorder = Recorder(controller)
    engine_free = threading.Event()
    controller.jobs.lane("engine").submit("Holding the engine", hold, engine_free, 60.0)
    try:
        case = organ_case()
        controller.load(case)
        qtbot.waitUntil(lambda: bool(recorder.results), timeout=20000)
        first = recorder.results[0]
        assert first.first_table and controller.busy and controller.last_result is first
        np.testing.assert_array_equal(first.confusion, sklearn_confusion(case))

        deltas = random_deltas(case, 12)   # the user edits while the engine has not loaded the case
        for delta in deltas:
            controller.submit_delta(delta)
            QCoreApplication.processEvents()
        assert len(recorder.results) == 1 and applied == []

        engine_free.set()
        qtbot.waitUntil(lambda: not controller.busy, timeout=20000)
        assert len(applied) == len(deltas)   # each edit counted once by the engine
        np.testing.assert_array_equal(controller.last_result.confusion, sklearn_confusion(case))
        # the engine's answer to the load is not published again: its per-slice counts, then the edits
        assert [result.first_table for result in recorder.results] == [True, False, False]
        assert recorder.results[1].slices.whole and not controller.last_result.first_table
    finally:
        engine_free.set()
        controller.shutdown()


def test_a_first_table_older_than_an_edit_is_never_shown(qtbot, monkeypatch):
    counted, engine_free = threading.Event(), threading.Event()

    def slow_first_table(request):
        counted.wait(60)   # the count finishes only after the edit below
        return first_table(request)

    monkeypatch.setattr(controller_module, "first_table", slow_first_table)
    controller = EngineController(device="cpu")
    recorder = Recorder(controller)
    controller.jobs.lane("engine").submit("Holding the engine", hold, engine_free, 60.0)
    try:
        case = organ_case()
        controller.load(case)
        for delta in random_deltas(case, 3):
            controller.submit_delta(delta)
        counted.set()
        qtbot.waitUntil(lambda: controller.jobs.lane(controller_module.FIRST_TABLE_LANE).in_flight == 0,
                        timeout=20000)
        QCoreApplication.processEvents()
        assert recorder.results == []   # its reply came (the engine still held) and was dropped

        engine_free.set()
        qtbot.waitUntil(lambda: not controller.busy, timeout=20000)
        assert not any(result.first_table for result in recorder.results)
        np.testing.assert_array_equal(controller.last_result.confusion, sklearn_confusion(case))
    finally:
        counted.set()
        engine_free.set()
        controller.shutdown()


def test_a_first_table_counted_after_the_engine_answered_the_load_is_not_shown(qtbot, monkeypatch):
    engine_answered = threading.Event()

    def late_first_table(request):
        engine_answered.wait(60)
        return first_table(request)

    def failing_engine(self, **_arguments):
        raise RuntimeError("no engine today")

    monkeypatch.setattr(controller_module, "first_table", late_first_table)
    monkeypatch.setattr(LiveDice, "__init__", failing_engine)
    controller = EngineController(device="cpu")
    recorder = Recorder(controller)
    try:
        controller.load(organ_case())
        qtbot.waitUntil(lambda: bool(recorder.warnings), timeout=20000)   # the engine could not load it
        engine_answered.set()
        qtbot.waitUntil(lambda: controller.jobs.lane(controller_module.FIRST_TABLE_LANE).in_flight == 0,
                        timeout=20000)
        QCoreApplication.processEvents()
        assert recorder.results == [] and "no engine today" in recorder.warnings[0]   # no table edits cannot follow
    finally:
        engine_answered.set()
        controller.shutdown()


def test_the_window_s_first_table_needs_no_torch_and_the_gui_thread_imports_neither_torch_nor_scipy(tmp_path):
    code = textwrap.dedent(f"""
        import importlib.abc, importlib.machinery, sys, threading, time
        gui_imports, torch_may_load = [], threading.Event()

        class WaitingLoader(importlib.abc.Loader):   # waits outside the global import lock
            def __init__(self, loader):
                self.loader = loader

            def create_module(self, spec):
                return self.loader.create_module(spec)

            def exec_module(self, module):
                torch_may_load.wait(120)   # torch's import waits until the first table is shown
                self.loader.exec_module(module)

        class Watch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if threading.current_thread() is threading.main_thread():
                    gui_imports.append(name)
                if name != "torch":
                    return None
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                spec.loader = WaitingLoader(spec.loader)
                return spec

        sys.meta_path.insert(0, Watch())
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        from app.io import load_case
        from app.qt.demo_case import demo_case_paths
        from app.qt.main_window import MainWindow

        app = QApplication([])
        window = MainWindow(settings=QSettings({str(tmp_path / "settings.ini")!r}, QSettings.Format.IniFormat))
        window.edits.journal = False
        window.controller.warm_up(1)   # the engine lane starts importing torch now
        paths = demo_case_paths()
        case = load_case(paths["gt"], paths["pred"], image=paths.get("image"), labels=paths.get("labels"))
        window.show_case(case)
        window.show()
        deadline = time.monotonic() + 120
        while window.controller.last_result is None and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        first = window.controller.last_result
        shown = window.dice_table.table.model().rowCount() > 0
        print(first.first_table, hasattr(sys.modules.get("torch"), "Tensor"), shown,
              sorted({{n for n in gui_imports if n.split(".")[0] in ("torch", "scipy") or n == "dice_engine.live"}}))
        torch_may_load.set()
        engine_loaded = []
        window.controller.engine_loaded.connect(engine_loaded.append)
        while not engine_loaded and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        print(engine_loaded == [window.controller.generation],
              (window.controller.last_result.confusion == first.confusion).all())
        window.close()
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                               env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                                    "DICELENS_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines() == ["True False True []", "True True"]


def test_closing_before_the_engine_loaded_never_imports_it():
    code = textwrap.dedent("""
        import sys
        import dice_engine   # as after a first table: the package, not the engine
        from PySide6.QtCore import QCoreApplication
        from app.qt.jobs import JobLayer
        app = QCoreApplication([])
        JobLayer().shutdown()
        print("torch" in sys.modules, "dice_engine.confusion" in sys.modules)
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                               env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False False"
