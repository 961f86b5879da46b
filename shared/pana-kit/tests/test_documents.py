"""Aggregates as documents (`pana_kit.documents`): what a document holds, value by value, whatever the path a value
takes (plain values kept as they are, everything else converted), and back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum

from pana_kit.documents import from_document, not_stored, stored_when_set, to_document, to_jsonable


class Colour(str, Enum):  # a str subclass: converted to its value, never kept as the enum
    RED = "red"


class Size(int, Enum):  # an int subclass, likewise
    BIG = 3


class Plain(Enum):
    A = "a"


@dataclass
class Inner:
    at: date
    tags: set[str] = field(default_factory=set)
    note: str | None = stored_when_set(default=None)


@dataclass
class Outer:
    id: str
    n: int
    ratio: float
    ok: bool
    nothing: None
    colour: Colour
    size: Size
    plain: Plain
    when: datetime
    inner: Inner
    inners: list[Inner]
    pair: tuple[int, str]
    frozen: frozenset[int]
    by_key: dict
    later: str | None = stored_when_set(default=None)
    rules: int = not_stored(default=7)
    pending_events: list = field(default_factory=list)


def test_a_document_holds_every_stored_value_converted_and_reads_back():
    at = datetime(2026, 12, 2, 12, 30, tzinfo=timezone.utc)
    outer = Outer(id="o", n=2, ratio=0.5, ok=True, nothing=None, colour=Colour.RED, size=Size.BIG, plain=Plain.A,
                  when=at, inner=Inner(date(2020, 1, 2), {"b", "a"}), inners=[Inner(date(2021, 3, 4), set(), "x")],
                  pair=(1, "one"), frozen=frozenset({3, 1, 2}), by_key={Colour.RED: [Plain.A], 5: {"d": date(2022, 5, 6)}},
                  pending_events=["not stored"])
    doc = to_document(outer)
    assert doc == {
        "id": "o", "n": 2, "ratio": 0.5, "ok": True, "nothing": None, "colour": "red", "size": 3, "plain": "a",
        "when": "2026-12-02T12:30:00+00:00", "inner": {"at": "2020-01-02", "tags": ["a", "b"]},
        "inners": [{"at": "2021-03-04", "tags": [], "note": "x"}], "pair": [1, "one"], "frozen": [1, 2, 3],
        "by_key": {"red": ["a"], "5": {"d": "2022-05-06"}},
    }
    assert list(doc) == list(to_jsonable(outer))  # fields in declaration order
    # Enum subclasses of str and int leave as plain values: the JSON is the same and so is its type
    assert type(doc["colour"]) is str and type(doc["size"]) is int and json.dumps(doc["colour"]) == '"red"'
    back = from_document(Outer, {**doc, "later": "set"})
    assert back.later == "set" and back.rules == 7 and back.colour is Colour.RED and back.when == at
    assert to_document(back)["later"] == "set"  # set: stored
