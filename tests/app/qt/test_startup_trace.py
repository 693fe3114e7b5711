"""DICELENS_STARTUP_TRACE=1 makes the window print when its first paints are done (for bench/startup.py);
without it nothing is printed."""

from app.qt import startup_trace
from app.qt.startup_trace import StartupTrace
from tests.app.qt.test_main_window import make_window, write_case


def events(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith(startup_trace.PREFIX)]


def open_traced_case(qtbot, settings, tmp_path):
    window = make_window(qtbot, settings)
    trace = StartupTrace(window)
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: "window" in trace._done, timeout=10000)   # the empty window painted
    paths = write_case(tmp_path)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    qtbot.wait(200)
    return window


def test_the_trace_stamps_window_case_read_image_and_table_once_each(qtbot, tmp_path, capsys, monkeypatch):
    from PySide6.QtCore import QSettings

    monkeypatch.setenv(startup_trace.ENVIRONMENT_VARIABLE, "1")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = open_traced_case(qtbot, settings, tmp_path)
    window.update()
    qtbot.wait(100)

    printed = capsys.readouterr().err
    stamped = events(printed)
    # The image and the table come from different threads' work: on a busy machine the table may be
    # painted before the slice view is, so only window -> case_read -> {image, table} is an order.
    assert sorted(stamped) == sorted(["window", "case_read", "image", "table"])
    assert stamped[:2] == ["window", "case_read"]
    times = [float(line.split()[2]) for line in printed.splitlines() if line.startswith(startup_trace.PREFIX)]
    assert len(times) == 4 and times == sorted(times)


def test_without_the_variable_nothing_is_printed(qtbot, tmp_path, capsys, monkeypatch):
    from PySide6.QtCore import QSettings

    monkeypatch.delenv(startup_trace.ENVIRONMENT_VARIABLE, raising=False)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    open_traced_case(qtbot, settings, tmp_path)
    assert events(capsys.readouterr().err) == []
