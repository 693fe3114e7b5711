"""What the GUI thread of a real ``dicelens view`` has done when the demo case's image is first painted
(docs/architecture.md §10): the image's window and histogram were computed on the early read's thread, the
report's content, QtPy, qdarkstyle's compiled icons, torch and scipy are not imported, every dock is in its
place, and the phases that bench/startup.py splits the time at were stamped in order."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

DRIVER = textwrap.dedent("""
    import json, os, sys, threading
    import numpy as np
    import app.qt.startup_clock as clock
    import app.window_level as window_level

    passes = []   # the threads that sampled an image for its window or value range, or took its histogram
    sample, histogram = window_level._sample, np.histogram

    def watched_sample(image):
        passes.append(threading.current_thread().name)
        return sample(image)

    def watched_histogram(*args, **kwargs):
        passes.append(threading.current_thread().name)
        return histogram(*args, **kwargs)

    window_level._sample, np.histogram = watched_sample, watched_histogram

    events = []   # the start-up trace's events, in order, each with the thread that stamped it

    def stamp(event):
        events.append([event, threading.current_thread() is threading.main_thread()])
        if event != "image":
            return
        from PySide6.QtWidgets import QApplication
        from app.qt.main_window import MainWindow
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        docks = window.docks
        report = {
            "passes": sorted(set(passes)),
            "modules": sorted(name for name in sys.modules
                              if name.startswith(("app.report", "qtpy", "torch", "scipy"))
                              or name.endswith("style_rc")),
            "events": events,
            "torch_libraries": os.path.exists("/proc/self/maps") and "libtorch" in open("/proc/self/maps").read(),
            "docks": sorted(name for name, dock in docks.items() if not dock.isHidden()),
            "behind_confusion": sorted(name for name, dock in docks.items()
                                       if dock in window.tabifiedDockWidgets(docks["confusion"])),
            "behind_history": sorted(name for name, dock in docks.items()
                                     if dock in window.tabifiedDockWidgets(docks["history"])),
            "themed": bool(QApplication.instance().styleSheet()),
        }
        print("FIRST-PICTURE " + json.dumps(report), flush=True)
        os._exit(0)

    clock.stamp = stamp
    from app.cli import main
    sys.exit(main(["view"]))
""")


@pytest.fixture(scope="module")
def first_picture(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("first-picture")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(scratch / "config"),
               DICELENS_DATA_DIR=str(scratch / "data"), HOME=str(scratch))
    env.pop("DICELENS_STARTUP_TRACE", None)
    completed = subprocess.run([sys.executable, "-c", DRIVER], capture_output=True, text=True, timeout=300, env=env)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("FIRST-PICTURE ")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    return json.loads(lines[0].removeprefix("FIRST-PICTURE "))


def test_the_image_was_summarised_on_the_early_reads_thread_only(first_picture):
    assert first_picture["passes"] == ["dicelens-early-read"]


def test_neither_the_report_qtpy_compiled_icons_torch_nor_scipy_are_imported_before_the_first_picture(first_picture):
    assert first_picture["modules"] == []


def test_torchs_shared_libraries_are_not_loaded_before_the_first_picture(first_picture):
    """They are loaded from the first paint on (app/qt/startup_order.py): beside the GUI thread's imports they
    delayed the picture."""
    assert first_picture["torch_libraries"] is False


def test_the_first_pictures_phases_are_stamped_once_in_order_on_the_gui_thread(first_picture):
    """bench/startup.py splits the time to the first picture at these events (docs/architecture.md §10b)."""
    phases = ["view", "imported", "built", "shown", "case_shown", "image"]
    events = [event for event, _on_gui_thread in first_picture["events"]]
    assert [event for event in events if event in phases] == phases
    assert all(on_gui_thread for event, on_gui_thread in first_picture["events"] if event in phases)
    assert events.count("case_read") == 1   # the early read's, on its own thread
    assert not dict(map(tuple, first_picture["events"]))["case_read"]


def test_every_dock_is_in_place_and_the_window_themed_at_the_first_picture(first_picture):
    assert first_picture["docks"] == ["confusion", "dice", "history", "labels", "objects", "slices", "threshold"]
    assert first_picture["behind_confusion"] == ["labels", "objects"]
    assert first_picture["behind_history"] == ["threshold"]
    assert first_picture["themed"]


def test_only_the_plots_that_offer_a_context_menu_build_one(qtbot, tmp_path, monkeypatch):
    """pyqtgraph builds a plot's menu with the plot unless told not to; the window's plots without a menu
    (matrix, per-slice Dice, Dice vs threshold, intensity histogram, slice views) never build it."""
    import importlib

    from PySide6.QtCore import QSettings

    from app.qt.main_window import MainWindow

    view_box_module = importlib.import_module("pyqtgraph.graphicsItems.ViewBox.ViewBox")
    built = []
    original = view_box_module.ViewBoxMenu

    class CountedMenu(original):
        def __init__(self, view):
            built.append(view)
            super().__init__(view)

    monkeypatch.setattr(view_box_module, "ViewBoxMenu", CountedMenu)
    monkeypatch.setattr("app.qt.main_window.apply_theme", lambda app, theme: None)
    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
                        synchronous=True)
    qtbot.addWidget(window)
    assert any(view is window.dice_history.plot.getPlotItem().getViewBox() for view in built)   # it has one
    plots = (window.confusion_panel.plot, window.slice_plot.plot, window.threshold_curve.plot,
             window.edit_toolbar.options.histogram)
    for view_box in [plot.getPlotItem().getViewBox() for plot in plots] + [v.view_box for v in window.views.views]:
        assert not view_box.menuEnabled()
        assert all(view is not view_box for view in built)
