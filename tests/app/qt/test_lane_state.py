"""The shared steps of the workers that follow the case's edits (app.qt.lane_state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from app.qt.lane_state import apply_edits, build_state, dropping_state_on_error


@dataclass(frozen=True)
class Failure:
    generation: int
    revision: int
    message: str


@dataclass
class Engine:
    """Records the edits it is given; an edit whose values are "bad" raises ValueError."""

    edits: list = field(default_factory=list)

    def apply_edit(self, region, new_values, which):
        if new_values == "bad":
            raise ValueError("region outside the volume")
        self.edits.append((region, new_values, which))


@dataclass
class State:
    engine: Engine | None = None
    generation: int = -1


def edit(generation, *values):
    deltas = tuple(SimpleNamespace(region=i, new_values=v, which="pred") for i, v in enumerate(values))
    return SimpleNamespace(generation=generation, revision=7, deltas=deltas)


def test_build_state_keeps_what_was_built_or_says_why_not():
    state = State(generation=3)
    request = SimpleNamespace(generation=3, revision=1)
    assert build_state(state, "engine", request, Engine, Failure, "Nothing could be counted") is None
    assert isinstance(state.engine, Engine)

    def too_large():
        raise MemoryError("needs 9 GiB")

    state = State(generation=3)
    assert build_state(state, "engine", request, too_large, Failure, "Nothing could be counted") == \
        Failure(3, 1, "Nothing could be counted for this case: needs 9 GiB")
    assert state.engine is None


def test_apply_edits_in_order_and_drops_the_state_it_cannot_follow():
    state = State(Engine(), generation=2)
    assert apply_edits(state, "engine", edit(2, "a", "b"), Failure, "Counts") is None
    assert state.engine.edits == [(0, "a", "pred"), (1, "b", "pred")]

    reply = apply_edits(state, "engine", edit(2, "c", "bad"), Failure, "Counts")
    assert reply == Failure(2, 7, "Counts stopped following the edits (region outside the volume); they are not "
                                  "shown until the case is opened again.")
    assert state.engine is None
    assert apply_edits(state, "engine", edit(2, "d"), Failure, "Counts") == Failure(2, 7, "")   # already told


def test_an_edit_of_another_case_is_answered_without_touching_the_state():
    engine = Engine()
    state = State(engine, generation=2)
    assert apply_edits(state, "engine", edit(1, "a"), Failure, "Counts") == Failure(1, 7, "")
    assert engine.edits == [] and state.engine is engine


def test_an_unexpected_error_drops_the_state_and_propagates():
    state = State(Engine(), generation=1)

    def broken(state, request):
        raise KeyError(request)

    with pytest.raises(KeyError):
        dropping_state_on_error(state, "engine", broken, "request")
    assert state.engine is None
    state = State(Engine(), generation=1)
    assert dropping_state_on_error(state, "engine", lambda s, r: (s.generation, r), "x") == (1, "x")
    assert state.engine is not None
