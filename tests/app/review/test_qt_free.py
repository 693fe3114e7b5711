"""The review's data modules load without Qt (import-linter cannot state it: app.batch.worker, which they
use for batch's result format, names the report PDF writer inside a function, so the graph reaches Qt)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_review_data_modules_do_not_load_qt():
    code = ("import sys\n"
            "import app.review.store, app.review.database, app.review.folder, app.review.worklist, app.review.scoring, "
            "app.review.corrected\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph'))\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
