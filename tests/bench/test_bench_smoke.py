"""Every benchmark script runs at tiny sizes (``--smoke``) and ends with its JSON line.

So a benchmark can no longer break silently: each ``bench/*.py`` not starting with ``_`` runs in
its own process (headless Qt), must exit 0, and its last line on stdout must be a JSON object.
The scripts run two at a time (their time is mostly imports, one core each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(path.name for path in (ROOT / "bench").glob("*.py") if not path.name.startswith("_"))
TIMEOUT_S = 300  # per script: generous, the suite may share the cores with other work


def run_smoke(name: str) -> tuple[int | None, str, str]:
    """Exit code (None on timeout), stdout and stderr of ``python bench/NAME --smoke``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / name), "--smoke"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        return None, str(error.stdout or ""), f"timed out after {TIMEOUT_S} s"
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def smoke_runs() -> dict[str, tuple[int | None, str, str]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(SCRIPTS, pool.map(run_smoke, SCRIPTS), strict=True))


def test_every_benchmark_script_is_found():
    assert {"engine.py", "distances.py", "batch.py", "gzip_verify.py", "resume_hash.py", "score.py",
            "stroke_latency.py", "startup.py", "gui_scroll.py", "review_next.py", "review_store.py", "objects.py",
            "probabilities.py", "tools.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_runs_at_smoke_size_and_ends_with_a_json_object(name, smoke_runs):
    code, stdout, stderr = smoke_runs[name]
    assert code == 0, f"bench/{name} --smoke exited {code}:\n{stderr[-3000:]}"
    lines = stdout.strip().splitlines()
    assert lines, f"bench/{name} --smoke printed nothing"
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict) and figures, f"bench/{name}: last line is not a JSON object: {lines[-1][:200]}"
