"""Every tool's change reaches the metrics and the journal like a brush stroke: the live Dice equals a
from-scratch recomputation after each tool, and a process killed right after the tools recovers them all."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.model.journal import Journal
from dice_engine import LiveDice, confusion_matrix
from tests.app.model.tools import tool_run_script

ROOT = Path(__file__).resolve().parents[4]


def test_live_dice_equals_a_from_scratch_count_after_every_tool_and_undo():
    session = tool_run_script.make_session()
    live = LiveDice(target=session.mask("gt").copy(), preds=session.mask("pred").copy(), num_classes=4, device="cpu")
    session.painted.connect(lambda delta: live.apply_edit(delta.region, delta.new_values, which=delta.which))
    before = session.mask("pred").copy()
    changed = []

    def check(number: int) -> None:
        expected = confusion_matrix(target=session.mask("gt"), preds=session.mask("pred"), num_classes=4)
        assert torch.equal(live.confusion, expected.to(live.confusion.dtype)), tool_run_script.TOOL_RUNS[number]
        changed.append(not np.array_equal(session.mask("pred"), before))

    tool_run_script.apply_all(session, check)
    assert len(session.history.undo_steps) == len(tool_run_script.TOOL_RUNS)   # each tool changed something
    while session.can_undo:
        session.undo()
        check(0)
    np.testing.assert_array_equal(session.mask("pred"), before)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_journal_replays_every_tool_after_sigkill(tmp_path):
    done = subprocess.run([sys.executable, str(Path(tool_run_script.__file__)), str(tmp_path / "journal")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    reference = tool_run_script.make_session()
    tool_run_script.apply_all(reference)
    contents = Journal(tmp_path / "journal").read()
    assert not contents.warnings and len(contents.records) == len(tool_run_script.TOOL_RUNS)
    recovered = tool_run_script.make_session()
    applied, warnings = recovered.replay(contents.records)
    assert (applied, warnings) == (len(tool_run_script.TOOL_RUNS), [])
    for which in ("pred", "gt"):
        np.testing.assert_array_equal(recovered.mask(which), reference.mask(which))
    assert [s.description for s in recovered.history.undo_steps] == [s.description for s in
                                                                     reference.history.undo_steps]
    recovered.undo()                                   # the recovered history undoes the last tool
    reference.undo()
    np.testing.assert_array_equal(recovered.mask("pred"), reference.mask("pred"))
