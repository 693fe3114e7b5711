"""The journal file: records round-trip, a damaged tail is skipped with a warning, appending resumes
after the last intact record, and the data directory can be chosen."""

import numpy as np
import pytest

from app.model.edit_session import EditSession
from app.model.journal import Journal, JournalRecord, case_key, journal_for, user_data_dir


def _record(step_id, count=5, which="pred"):
    rng = np.random.default_rng(step_id)
    indices = np.sort(rng.choice(1000, size=count, replace=False)).astype(np.uint32)
    return JournalRecord("step", step_id, which, indices, rng.integers(0, 4, count, dtype=np.uint8),
                         rng.integers(0, 4, count, dtype=np.uint8), f"brush {step_id}")


def _same(a, b):
    return (a.kind, a.step_id, a.which, a.description) == (b.kind, b.step_id, b.which, b.description) and all(
        np.array_equal(x, y) and x.dtype == y.dtype for x, y in
        ((a.indices, b.indices), (a.old_values, b.old_values), (a.new_values, b.new_values)))


def test_records_round_trip(tmp_path):
    journal = Journal(tmp_path / "case")
    written = [_record(i, count=i + 1) for i in range(1, 6)] + [JournalRecord("clear_redo", -1)]
    for record in written:
        journal.append(record)
    contents = Journal(tmp_path / "case").read()
    assert contents.warnings == [] and contents.valid_bytes == journal.path.stat().st_size
    assert len(contents.records) == len(written)
    assert all(_same(a, b) for a, b in zip(written, contents.records, strict=True))


@pytest.mark.parametrize("damage", ["truncate", "flip_payload", "flip_length", "garbage"])
def test_a_damaged_tail_record_is_skipped_with_a_warning(tmp_path, damage):
    journal = Journal(tmp_path / "case")
    for i in range(1, 5):
        journal.append(_record(i, count=50))
    journal.close()
    data = bytearray(journal.path.read_bytes())
    last_start = len(data) - len(_record(4, count=50).encode())
    if damage == "truncate":
        data = data[:-7]
    elif damage == "flip_payload":
        data[-3] ^= 0xFF
    elif damage == "flip_length":
        data[last_start + 5] ^= 0x01
    else:
        data += b"\x00\x17partial"
    journal.path.write_bytes(bytes(data))
    contents = Journal(tmp_path / "case").read()
    expected = 4 if damage == "garbage" else 3
    assert [r.step_id for r in contents.records] == list(range(1, expected + 1))
    assert len(contents.warnings) == 1 and "damaged record" in contents.warnings[0]
    assert contents.valid_bytes == (len(data) - len(b"\x00\x17partial") if damage == "garbage" else last_start)


def test_appending_after_a_crash_cuts_the_damaged_tail_first(tmp_path):
    journal = Journal(tmp_path / "case")
    for i in range(1, 4):
        journal.append(_record(i))
    journal.close()
    with open(journal.path, "ab") as stream:
        stream.write(_record(4).encode()[:-10])  # the crash cut this write short
    resumed = Journal(tmp_path / "case")
    resumed.append(_record(5))
    contents = resumed.read()
    assert [r.step_id for r in contents.records] == [1, 2, 3, 5] and contents.warnings == []


def test_an_unreadable_record_is_never_fatal(tmp_path):
    journal = Journal(tmp_path / "case")
    journal.path.parent.mkdir()
    journal.path.write_bytes(b"this is not a journal at all")
    contents = journal.read()
    assert contents.records == [] and contents.warnings


def test_replay_skips_records_that_do_not_fit_the_case(tmp_path):
    gt = np.zeros((2, 5, 5), np.uint8)
    session = EditSession(gt, gt.copy(), (1.0, 1.0, 1.0), 4)
    good = JournalRecord("step", 1, "pred", np.array([3], np.uint32), np.array([0], np.uint8), np.array([2], np.uint8))
    bad = JournalRecord("step", 2, "pred", np.array([999], np.uint32), np.array([0], np.uint8), np.array([2], np.uint8))
    applied, warnings = session.replay([good, bad, good])
    assert applied == 1 and len(warnings) == 1 and "does not fit" in warnings[0]
    assert session.mask("pred").reshape(-1)[3] == 2


def test_the_data_directory_can_be_chosen(tmp_path, monkeypatch):
    monkeypatch.setenv("DICELENS_DATA_DIR", str(tmp_path / "env"))
    assert user_data_dir() == tmp_path / "env"
    assert user_data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("DICELENS_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if user_data_dir().parent == tmp_path / "xdg":  # Linux and other XDG platforms
        assert user_data_dir() == tmp_path / "xdg" / "DiceLens"


class _Source:
    def __init__(self, path, sha256):
        self.path, self.sha256 = path, sha256


def test_the_case_key_depends_on_paths_and_contents(tmp_path):
    sources = {"gt": _Source("a/gt.nii.gz", "1" * 64), "pred": _Source("a/pred.nii.gz", "2" * 64)}
    key = case_key(sources)
    assert len(key) == 64 and key == case_key(dict(sources))
    assert key != case_key({**sources, "pred": _Source("a/pred.nii.gz", "3" * 64)})
    assert key != case_key({**sources, "gt": _Source("b/gt.nii.gz", "1" * 64)})
    assert key == case_key({**sources, "image": _Source("a/ct.nii.gz", "4" * 64)})
    assert journal_for(sources, tmp_path).directory == tmp_path / "journal" / key


def test_a_journal_that_cannot_be_written_stops_journalling_not_editing(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the journal folder should be")
    gt = np.zeros((2, 5, 5), np.uint8)
    session = EditSession(gt, gt.copy(), (1.0, 1.0, 1.0), 4, journal=Journal(blocker))
    session.begin_stroke((0, 2, 2), 0)
    assert session.end_stroke() is not None and session.can_undo
    assert session.journal_error and "cannot be written" in session.journal_error
    session.undo()
    assert session.mask("pred").sum() == 0


def test_a_last_record_torn_at_every_byte_keeps_every_complete_stroke(tmp_path):
    gt = np.zeros((3, 8, 9), np.uint8)
    reference = EditSession(gt, gt.copy(), (1.0, 1.0, 1.0), 4, journal=Journal(tmp_path / "whole"))
    for row, label in ((1, 1), (4, 2), (6, 3)):
        reference.active_label = label
        reference.begin_stroke((1, row, 1), 0)
        reference.paint_segment((1, row, 7))
        reference.end_stroke()
        if row == 4:
            after_two = reference.mask("pred").copy()
    reference.journal.close()
    data = reference.journal.path.read_bytes()
    intact = Journal(tmp_path / "whole").read()
    last_start = intact.valid_bytes - len(intact.records[-1].encode())
    assert intact.warnings == [] and len(intact.records) == 3
    torn = Journal(tmp_path / "torn")
    torn.directory.mkdir()
    for cut in range(last_start, len(data)):
        torn.path.write_bytes(data[:cut])
        contents = torn.read()
        assert len(contents.records) == 2 and contents.valid_bytes == last_start, cut
        assert len(contents.warnings) == (cut > last_start), cut
        session = EditSession(gt, gt.copy(), (1.0, 1.0, 1.0), 4)
        assert session.replay(contents.records) == (2, [])
        np.testing.assert_array_equal(session.mask("pred"), after_two)
        assert len(session.history.undo_steps) == 2
    torn.append(intact.records[-1])   # the next session appends after the last complete record
    assert [r.step_id for r in torn.read().records] == [r.step_id for r in intact.records]
    assert torn.read().warnings == [] and torn.path.read_bytes() == data
