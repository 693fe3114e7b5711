"""The house rules that CI enforces: ruff clean and the import boundaries of docs/architecture.md §2."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extra (pip install -e '.[test]')")
    return found


def test_ruff_is_clean():
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_boundaries_hold():
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_app_module_has_a_layer():
    """A new module of ``app`` must be placed in the layers contract, or it could import anything."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layered,) = [contract for contract in contracts if contract["type"] == "layers"]
    placed = {name.strip() for layer in layered["layers"] for name in layer.split("|")}
    children = {path.stem if path.is_file() else path.name for path in (ROOT / "app").iterdir()
                if (path.suffix == ".py" or (path / "__init__.py").exists()) and path.name != "__pycache__"}
    unplaced = sorted(children - placed - {"__init__", "__main__"})
    assert not unplaced, f"app modules missing from the layers contract in pyproject.toml: {unplaced}"
