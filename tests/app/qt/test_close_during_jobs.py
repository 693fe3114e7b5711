"""Closing the window whatever is in flight ends the process normally (exit 0, no Qt abort), nothing half-written."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from app.io import load_case
    from app.qt.main_window import MainWindow
    from app.qt.report_dialog import ReportDialog, export_case_report
    from tests.app.qt.editing_cases import write_case

    folder, what = Path(sys.argv[1]), sys.argv[2]
    app = QApplication([])
    paths = write_case(folder, shape=(40, 160, 160))
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, edit_data_dir=folder / "userdata")
    window.show_error = print
    window.show()
    window.show_case(load_case(paths["gt"], paths["pred"], image=paths["image"]), title="case")

    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ReportDialog):
            dialog.path_edit.setText(str(folder / "report.pdf"))
            dialog.accept()
        else:
            QTimer.singleShot(20, answer)

    if what == "export":
        QTimer.singleShot(0, answer)
        exporter = export_case_report(window, window.state.case, case_name="case", settings=settings)
        print("in flight:", exporter.busy, flush=True)
    else:
        window.open_case(paths["gt"], paths["pred"], image=paths["image"])
        print("in flight:", window.case_loader.loading, flush=True)
    QTimer.singleShot(0, window.close)
    app.exec()
    print("event loop ended", flush=True)
""")


@pytest.mark.parametrize("what", ["export", "open"])
def test_closing_the_window_during_a_job_exits_cleanly(tmp_path, what):
    root = Path(__file__).resolve().parents[3]
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), what], cwd=root, capture_output=True, text=True,
        timeout=300, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                          "DICELENS_DATA_DIR": str(tmp_path / "data")},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Destroyed while thread" not in completed.stderr
    assert completed.stdout.splitlines() == ["in flight: True", "event loop ended"], completed.stdout
    assert not list(tmp_path.glob(".*.tmp"))   # no half-written file
    if what == "export":   # the report asked for is finished before the process ends, complete
        data = (tmp_path / "report.pdf").read_bytes()
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]
