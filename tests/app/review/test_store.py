"""The review database: verdicts, time, claims, the open case; opening errors; migration from version 1."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from app.errors import InputError
from app.review import database as database_module
from app.review import store as store_module
from app.review.store import MIGRATIONS, SCHEMA_VERSION, ReviewStore, Verdict, utc_timestamp

CONFIG = {"gt_dir": "/data/gt", "pred_dir": "/data/pred", "image_dir": "", "labels": ""}


def verdict(case="case_1", status="accepted", grade=4, reviewer="ana", **changes) -> Verdict:
    fields = {"case": case, "status": status, "grade": grade, "reviewer": reviewer, "reviewed_at": utc_timestamp(),
              "seconds": 12.5, "comment": "", "dice_before": {"liver": 0.9, "tumour": None},
              "dice_after": None, "voxels_changed": 0, "corrected_path": None}
    return Verdict(**{**fields, **changes})


@pytest.fixture
def store(tmp_path):
    opened = ReviewStore.create(tmp_path / "review.sqlite", CONFIG)
    yield opened
    opened.close()


def _snapshot(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def test_new_database_is_wal_at_the_current_version_with_its_config(store):
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    assert store.config() == CONFIG
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_verdicts_round_trip_latest_per_case_and_history(store):
    first = verdict(status="needs correction", grade=2, comment="=cmd|' /C calc'!A0")
    second = verdict(status="corrected", grade=5, dice_after={"liver": 0.95, "tumour": None}, voxels_changed=321,
                     corrected_path="/r/corrected/case_1.nii.gz", reviewer="bo")
    other = verdict(case="case_2", status="rejected", grade=None, comment="wrong patient")
    for item in (first, other, second):
        store.record_verdict(item)
    assert store.verdicts() == {"case_1": second, "case_2": other}
    assert store.history("case_1") == [first, second]
    assert store.history("case_9") == []
    assert store.latest_verdict("case_1") == second and store.latest_verdict("case_9") is None


def test_verdict_rejects_unknown_status_and_grade():
    with pytest.raises(ValueError, match="status"):
        verdict(status="in progress")
    with pytest.raises(ValueError, match="grade"):
        verdict(grade=6)


def test_in_progress_lasts_until_a_verdict(store):
    store.set_in_progress("case_1", "ana")
    store.set_in_progress("case_2", "bo")
    assert store.in_progress() == {"case_1": "ana", "case_2": "bo"}
    store.record_verdict(verdict(case="case_1"))
    assert store.in_progress() == {"case_2": "bo"}


def test_seconds_accumulate_per_case(store):
    store.add_seconds("case_1", 10.0)
    store.add_seconds("case_1", 2.5)
    store.add_seconds("case_2", 0.0)   # nothing spent: nothing recorded
    store.add_seconds("case_3", 1.0)
    assert store.seconds_spent() == {"case_1": 12.5, "case_3": 1.0}


def test_claims_live_refreshed_released_and_stale(store, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "time", lambda: clock[0])
    assert store.claim("case_1", "ana") is None
    assert store.claim("case_1", "ana") is None          # claiming again is fine
    assert store.claim("case_1", "bo") == "ana"          # live claim of another reviewer
    assert store.claims() == {"case_1": "ana"}
    assert store.claims(excluding="ana") == {}
    clock[0] += 100.0
    store.refresh_claim("case_1", "ana")                 # heartbeat keeps it live
    clock[0] += 100.0
    assert store.claim("case_1", "bo") == "ana"
    store.refresh_claim("case_1", "bo")                  # another reviewer's heartbeat changes nothing
    clock[0] += 121.0                                    # ana's window died: the claim went stale
    assert store.claims() == {}
    assert store.claim("case_1", "bo") is None
    assert store.claims() == {"case_1": "bo"}
    store.release("case_1", "ana")                       # not ana's any more: left alone
    assert store.claims() == {"case_1": "bo"}
    store.release("case_1", "bo")
    assert store.claims() == {}
    assert store.claim("case_2", "ana", stale_after_s=5.0) is None
    clock[0] += 6.0
    assert store.claim("case_2", "bo", stale_after_s=5.0) is None


def test_open_case_per_reviewer(store):
    assert store.open_case("ana") is None
    store.set_open_case("ana", "case_3")
    store.set_open_case("bo", "case_1")
    store.set_open_case("ana", "case_4")
    assert (store.open_case("ana"), store.open_case("bo")) == ("case_4", "case_1")
    store.set_open_case("ana", None)
    assert store.open_case("ana") is None


def test_state_is_shared_between_connections(store, tmp_path):
    other = ReviewStore.open(tmp_path / "review.sqlite")
    try:
        store.record_verdict(verdict())
        assert other.claim("case_1", "bo") is None
        assert set(other.verdicts()) == {"case_1"}
        assert store.claims(excluding="ana") == {"case_1": "bo"}
    finally:
        other.close()


def _version_1_database(path):
    """A database as the first version built it: only migration step 1, holding one verdict."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("BEGIN")
    connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00+00:00')")
    connection.executemany("INSERT INTO config VALUES (?, ?)", sorted(CONFIG.items()))
    connection.execute("INSERT INTO verdicts (case_name, status, grade, reviewer, reviewed_at, seconds, comment, "
                       "dice_before, dice_after, voxels_changed, corrected_path) VALUES ('case_1', 'rejected', 1, "
                       "'ana', '2026-01-01T10:00:00+00:00', 30.0, 'bad', '{\"liver\": 0.5}', NULL, 0, NULL)")
    connection.execute("COMMIT")
    connection.close()


def test_migration_from_version_1_keeps_verdicts_and_adds_the_new_tables(tmp_path):
    path = tmp_path / "review.sqlite"
    _version_1_database(path)
    store = ReviewStore.open(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.config() == CONFIG
        (kept,) = store.verdicts().values()
        assert (kept.case, kept.status, kept.grade, kept.comment, kept.dice_before) == (
            "case_1", "rejected", 1, "bad", {"liver": 0.5})
        assert store.claim("case_1", "ana") is None and store.claims() == {"case_1": "ana"}
        store.add_seconds("case_1", 3.0)
        versions = [row[0] for row in store._db.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        store.close()


def test_newer_schema_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "review.sqlite"
    ReviewStore.create(path, CONFIG).close()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("INSERT INTO schema_version VALUES (99, '2030-01-01T00:00:00+00:00')")
    connection.close()
    before = _snapshot(tmp_path)
    with pytest.raises(InputError, match=r"newer DiceLens \(schema version 99"):
        ReviewStore.open(path)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("content", [b"", b"this is not a database at all" * 40,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_database_is_refused_and_nothing_written(tmp_path, content):
    path = tmp_path / "review.sqlite"
    path.write_bytes(content)
    before = _snapshot(tmp_path)
    with pytest.raises(InputError, match="damaged"):
        ReviewStore.open(path)
    assert _snapshot(tmp_path) == before


def test_damaged_pages_are_refused(tmp_path):
    path = tmp_path / "review.sqlite"
    store = ReviewStore.create(path, CONFIG)
    for index in range(300):
        store.record_verdict(verdict(case=f"case_{index}", comment="x" * 200))
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page:len(data) - page] = b"\x5a" * (len(data) - 4 * page)   # trash the middle pages
    path.write_bytes(bytes(data))
    before = _snapshot(tmp_path)
    with pytest.raises(InputError, match="damaged"):
        ReviewStore.open(path)
    assert _snapshot(tmp_path) == before


def test_other_sqlite_database_is_not_a_review(tmp_path):
    path = tmp_path / "review.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE photos (name TEXT)")
    connection.commit()
    connection.close()
    with pytest.raises(InputError, match="not a DiceLens review"):
        ReviewStore.open(path)


def test_missing_database_says_not_a_review_folder(tmp_path):
    with pytest.raises(InputError, match="is not a review folder"):
        ReviewStore.open(tmp_path / "review.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_locked_database_is_refused_and_nothing_written(tmp_path, monkeypatch):
    path = tmp_path / "review.sqlite"
    ReviewStore.create(path, CONFIG).close()
    before = _snapshot(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("SELECT * FROM config").fetchall()
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_S", 0.2)
    try:
        with pytest.raises(InputError, match="locked by another program"):
            ReviewStore.open(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _snapshot(tmp_path) == before


def test_write_waiting_too_long_is_an_input_error_and_records_nothing(store, tmp_path, monkeypatch):
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_S", 0.2)
    store._db.execute("PRAGMA busy_timeout=200")
    holder = sqlite3.connect(tmp_path / "review.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(InputError, match="nothing was recorded"):
            store.record_verdict(verdict())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.verdicts() == {}
    store.record_verdict(verdict())
    assert set(store.verdicts()) == {"case_1"}


class _FailingCommit:
    """A connection whose COMMIT fails as on a full disk (everything else is the real connection)."""

    def __init__(self, connection):
        self._connection = connection

    def execute(self, sql, *args):
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._connection.execute(sql, *args)


def test_a_failed_commit_is_an_input_error_and_rolls_back(tmp_path):
    path = tmp_path / "review.sqlite"
    real = ReviewStore.create(path, CONFIG)
    failing = ReviewStore(_FailingCommit(real._db), path)
    with pytest.raises(InputError, match=r"disk is full\); nothing was recorded"):
        failing.record_verdict(verdict())
    assert not real._db.in_transaction
    assert real.verdicts() == {}
    real.record_verdict(verdict())
    assert set(real.verdicts()) == {"case_1"}
    real.close()


def test_folder_names_that_mean_something_in_a_uri(tmp_path):
    folder = tmp_path / "a #1 ?mode=ro & 100%"
    folder.mkdir()
    path = folder / "review.sqlite"
    ReviewStore.create(path, CONFIG).close()
    store = ReviewStore.open(path)
    try:
        store.record_verdict(verdict())
        assert set(store.verdicts()) == {"case_1"}
    finally:
        store.close()


def test_nan_dice_is_stored_as_undefined_and_numpy_grades_as_int(store):
    import numpy as np

    store.record_verdict(verdict(grade=np.int64(3), dice_before={"liver": float("nan"), "kidney": np.float32(0.5)},
                                 dice_after={"liver": float("nan")}))
    (stored,) = store.verdicts().values()
    assert stored.grade == 3 and type(stored.grade) is int
    assert stored.dice_before == {"liver": None, "kidney": 0.5} and stored.dice_after == {"liver": None}
    with pytest.raises(ValueError, match="grade"):
        verdict(grade=True)


def test_create_never_replaces_a_database_another_process_made_meanwhile(tmp_path, monkeypatch):
    path = tmp_path / "review.sqlite"
    migrate = database_module._migrate
    other = {**CONFIG, "gt_dir": "/the/other/process"}

    def migrate_while_another_process_wins(connection, version):
        migrate(connection, version)
        if not path.exists():
            monkeypatch.setattr(database_module, "_migrate", migrate)
            assert database_module.create_database(path, other) is True

    monkeypatch.setattr(database_module, "_migrate", migrate_while_another_process_wins)
    assert database_module.create_database(path, CONFIG) is False
    store = ReviewStore.open(path)
    try:
        assert store.config() == other                     # the winner's database, untouched
    finally:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.sqlite"]   # no temporary left


def test_create_removes_temporaries_of_killed_creations_once_stale(tmp_path):
    import os
    import time

    old, young = tmp_path / ".review.sqlite.123.456.new.tmp", tmp_path / ".review.sqlite.124.456.new.tmp"
    for leftover in (old, young):
        leftover.write_bytes(b"half a database")
    stale = time.time() - database_module.STALE_TEMPORARY_S - 10
    os.utime(old, (stale, stale))
    ReviewStore.create(tmp_path / "review.sqlite", CONFIG).close()
    assert not old.exists() and young.exists()          # a young one may be another process's creation
