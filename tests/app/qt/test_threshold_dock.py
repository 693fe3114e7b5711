"""The "Dice vs threshold" dock comes to the front when model output is opened, and the remembered layout
(a closed dock, a dock moved out of the tab group) is respected."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.io import load_case
from tests.app.qt.editing_cases import open_window, write_case
from tests.app.qt.test_model_output_window import write_probabilities


def front_tab(window, dock):
    """Whether ``dock`` can be seen: open and, in a tab group, the tab in front."""
    QApplication.processEvents()
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def open_with_probabilities(window, qtbot, paths, probs):
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"], probs=probs)
    qtbot.waitUntil(lambda: window.state.case.scores is not None, timeout=30_000)


def test_opening_model_output_raises_the_curve_dock_and_a_case_without_gives_the_tab_back(qtbot, tmp_path):
    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    window = open_window(qtbot, tmp_path, paths)
    threshold, history = window.docks["threshold"], window.docks["history"]
    assert front_tab(window, history) and not front_tab(window, threshold)   # default: tabbed behind history
    open_with_probabilities(window, qtbot, paths, probs)
    assert front_tab(window, threshold) and not front_tab(window, history)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    qtbot.waitUntil(lambda: window.state.case.scores is None, timeout=30_000)
    assert front_tab(window, history) and not front_tab(window, threshold)
    window.close()


def test_a_closed_or_moved_curve_dock_stays_as_the_user_left_it(qtbot, tmp_path):
    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    window = open_window(qtbot, tmp_path, paths)
    threshold, history = window.docks["threshold"], window.docks["history"]
    threshold.close()
    open_with_probabilities(window, qtbot, paths, probs)
    assert not front_tab(window, threshold) and front_tab(window, history)   # closed: not reopened
    threshold.show()
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, threshold)   # out of the tab group
    history.raise_()
    open_with_probabilities(window, qtbot, paths, probs)
    assert front_tab(window, threshold) and front_tab(window, history)      # both in view, nothing moved
    assert window.dockWidgetArea(threshold) == Qt.DockWidgetArea.RightDockWidgetArea
    window.close()


def test_a_window_given_model_output_before_it_is_shown_shows_the_curve(qtbot, tmp_path):
    """``view --screenshot`` shows the case before the window is shown."""
    from unittest.mock import patch

    from PySide6.QtCore import QSettings

    from app.qt.main_window import MainWindow

    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):
        window = MainWindow(settings=settings, synchronous=True, edit_data_dir=tmp_path / "userdata")
    qtbot.addWidget(window)
    window.show_case(load_case(paths["gt"], paths["pred"], labels=paths["labels"], probs=probs))
    window.resize(1200, 800)
    window.show()
    assert front_tab(window, window.docks["threshold"]) and not front_tab(window, window.docks["history"])
    window.close()
