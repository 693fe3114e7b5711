"""PySide6 must not leak or drop references when signals carry Python objects.

PySide6 6.12.0 on Python 3.11 drops one reference to ``True`` per ``Signal.emit()``; after a few
thousand emits the count reaches zero and the interpreter aborts. pyproject.toml pins PySide6 below
6.12 for that reason; this test is what a newer release must pass before the pin is lifted.
(On Python 3.12+ ``True`` is immortal and its reference count never changes, so this test cannot
catch the bug there; the interpreter cannot crash from it there either.)
"""

import sys

import pytest
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

EMITS = 20_000
TOLERANCE = 100
"""References to True that unrelated code may take or release meanwhile; the bug moves it by EMITS."""


class Sender(QObject):
    carried_object = Signal(object)
    carried_bool = Signal(bool)


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.objects = 0
        self.bools = 0

    @Slot(object)
    def on_object(self, value) -> None:
        self.objects += value is True

    @Slot(bool)
    def on_bool(self, value: bool) -> None:
        self.bools += value is True


@pytest.mark.parametrize(
    "connection", [Qt.ConnectionType.DirectConnection, Qt.ConnectionType.QueuedConnection], ids=["direct", "queued"]
)
def test_emitting_true_keeps_its_reference_count(qapp, connection):
    sender, receiver = Sender(), Receiver()
    sender.carried_object.connect(receiver.on_object, connection)
    sender.carried_bool.connect(receiver.on_bool, connection)
    QCoreApplication.processEvents()
    before = sys.getrefcount(True)

    for _ in range(EMITS // 2):
        sender.carried_object.emit(True)
        sender.carried_bool.emit(True)
    QCoreApplication.processEvents()

    after = sys.getrefcount(True)
    assert receiver.objects == EMITS // 2 and receiver.bools == EMITS // 2
    assert abs(after - before) < TOLERANCE, f"reference count of True moved from {before} to {after}"
