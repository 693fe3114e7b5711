"""The theme's style sheet is qdarkstyle's own, read from its package without QtPy or compiled resources
(app/qt/theme.py, docs/architecture.md §10)."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import qdarkstyle
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.qt.theme import PALETTES, RESOURCE_PREFIX, THEMES, apply_theme, theme_stylesheet

PACKAGE = Path(qdarkstyle.__file__).resolve().parent


@pytest.mark.parametrize("theme", THEMES)
def test_the_style_sheet_is_the_one_qdarkstyle_loads_with_its_icons_from_the_package_files(qapp, theme):
    expected = qdarkstyle.load_stylesheet(qt_api="pyside6", palette=PALETTES[theme])
    sheet = theme_stylesheet(theme)
    assert RESOURCE_PREFIX not in sheet
    assert sheet.replace(f'url("{PACKAGE.as_posix()}/', f'url("{RESOURCE_PREFIX}') == expected
    icons = re.findall(r'url\("([^"]+)"\)', sheet)
    assert len(icons) > 50 and all(Path(icon).is_file() for icon in icons)
    assert all(f"/{theme}/rc/" in icon for icon in icons)


def test_applying_a_theme_sets_its_style_sheet_and_link_colour(qapp):
    before_sheet, before_palette = qapp.styleSheet(), qapp.palette()
    try:
        for theme in THEMES:
            apply_theme(qapp, theme)
            assert qapp.styleSheet() == theme_stylesheet(theme)
            link = qapp.palette().color(QPalette.ColorGroup.Normal, QPalette.ColorRole.Link)
            assert link == QColor(PALETTES[theme].COLOR_ACCENT_3)
    finally:
        qapp.setStyleSheet(before_sheet)
        qapp.setPalette(before_palette)
    assert QApplication.instance() is qapp


def test_an_unknown_theme_is_refused():
    with pytest.raises(ValueError, match="theme must be one of"):
        theme_stylesheet("sepia")


def test_the_themed_window_loads_neither_qtpy_nor_the_compiled_icons():
    code = textwrap.dedent("""
        import sys, tempfile
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        from app.qt.main_window import MainWindow
        app = QApplication([])
        window = MainWindow(settings=QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat))
        window.show()
        app.processEvents()
        print(bool(app.styleSheet()), sorted(name for name in sys.modules
                                             if name.split(".")[0] == "qtpy" or name.endswith("style_rc")))
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                               env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "True []"
