"""Crash recovery in semantic instance mode (docs/architecture.md §5d): journal records replayed through
:meth:`SemanticTranslation.replay` give the semantic working copies that translating the same edits as they were
painted gave (hypothesis property), with the new-instance class each record carries; old journals still load."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
from hypothesis import given, settings

from app.model.instance_delta import SemanticTranslation
from app.model.journal import JournalRecord, _record_at
from tests.app.model.test_instance_delta import delta_of, edit_sequences


def record_of(edit, step_id: int, picked: int | None) -> JournalRecord:
    """The journal record of instance edit ``edit`` (its changed voxels, flat, as a history step keeps them)."""
    shape = (2, 5, 6)
    flat = np.arange(int(np.prod(shape))).reshape(shape)[edit.region]
    changed = edit.old_values != edit.new_values
    return JournalRecord("step", step_id, edit.which, flat[changed].astype(np.int64), edit.old_values[changed],
                         edit.new_values[changed], "brush", picked)


@settings(max_examples=60, deadline=None)
@given(edit_sequences())
def test_replayed_records_give_the_classes_painting_gave(sequence):
    ids, classes, edits = sequence
    original = {w: ids[w].copy() for w in ids}
    chosen = {"class": 1}
    live = SemanticTranslation({w: ids[w].copy() for w in ids}, {w: classes[w].copy() for w in classes}, 4,
                               lambda: chosen["class"])
    records = []
    for number, (which, region, values, picked) in enumerate(edits, start=1):
        chosen["class"] = picked
        edit = delta_of(ids[which], region, values.reshape(ids[which][region].shape), which)
        live.translate(edit)
        record = record_of(edit, number, picked)
        if record.indices.size:
            records.append(_record_at(record.encode(), 0)[0])   # through the journal's bytes
    chosen["class"] = 3   # another class selected when the case is opened again: the records' classes count
    recovered = SemanticTranslation({w: original[w].copy() for w in original},
                                    {w: classes[w].copy() for w in classes}, 4, lambda: chosen["class"])
    recovered.replay(records)
    for which in ids:
        assert np.array_equal(recovered.masks[which], live.masks[which])
        kept, expected = recovered.tables[which].counts, live.tables[which].counts
        rows = max(kept.shape[0], expected.shape[0])
        assert np.array_equal(np.pad(kept, ((0, rows - kept.shape[0]), (0, 0))),
                              np.pad(expected, ((0, rows - expected.shape[0]), (0, 0))))


def old_record_bytes() -> bytes:
    """A record as journals wrote it before the new-instance class was recorded (no such header field)."""
    indices, old, new = np.array([4, 5], np.int64), np.array([0, 0], np.uint16), np.array([9, 9], np.uint16)
    header = json.dumps({"kind": "step", "id": 1, "which": "pred", "count": 2, "index_dtype": indices.dtype.str,
                         "value_dtype": old.dtype.str, "description": "brush"}).encode()
    payload = b"".join((struct.pack("<I", len(header)), header, indices.tobytes(), old.tobytes(), new.tobytes()))
    length = struct.pack("<Q", len(payload))
    return b"DLJR" + length + struct.pack("<I", zlib.crc32(length + payload)) + payload


def test_an_old_journal_record_loads_and_takes_the_class_selected_now():
    record, _, problem = _record_at(old_record_bytes(), 0)
    assert problem is None and record.new_instance_class is None
    ids = np.array([[[1, 1, 1, 0, 0, 0]]], dtype=np.uint16)
    classes = np.array([[[2, 2, 1, 0, 0, 0]]], dtype=np.uint8)
    translation = SemanticTranslation({"gt": ids.copy(), "pred": ids.copy()},
                                      {"gt": classes.copy(), "pred": classes.copy()}, 3, lambda: 2)
    translation.replay([record])
    assert translation.masks["pred"].tolist() == [[[2, 2, 1, 0, 2, 2]]]   # new id 9: the class selected now


def test_a_recorded_class_survives_the_journal_bytes():
    record = JournalRecord("undo", 3, "gt", np.array([0], np.int64), np.array([1], np.uint8),
                           np.array([0], np.uint8), "brush", 2)
    assert _record_at(record.encode(), 0)[0].new_instance_class == 2
    plain = JournalRecord("step", 3, "gt", np.array([0], np.int64), np.array([1], np.uint8), np.array([0], np.uint8))
    assert b"new_instance_class" not in plain.encode()   # other modes write the journal as before
