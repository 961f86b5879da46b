"""Aggregates as documents: dataclass <-> JSON-able dict, driven by type hints.

Every service stores its aggregates as one JSON document per row (plus the columns its
queries need), so this is written once: dates and times as ISO strings, enums by value,
sets sorted, nested dataclasses as objects. A field marked `not_stored()` (configuration
such as the rules an aggregate was built with) and the recorded events are left out;
`from_document(cls, doc, rules=...)` passes them back in.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any

_SKIP = {"pending_events"}
_NOT_STORED = "pana.not_stored"


def not_stored(**kwargs: Any) -> Any:
    """A dataclass field that is not part of the document (e.g. the rules the aggregate runs under)."""
    return dataclasses.field(metadata={_NOT_STORED: True}, **kwargs)


_WHEN_SET = "pana.stored_when_set"


def stored_when_set(**kwargs: Any) -> Any:
    """A field added to an aggregate later: left out of the document while it is None, so documents written
    before it existed are written back unchanged (and read with the default)."""
    return dataclasses.field(metadata={_WHEN_SET: True}, **kwargs)


def _stored(f: dataclasses.Field) -> bool:
    return f.name not in _SKIP and not f.metadata.get(_NOT_STORED, False)


def to_jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:  # exact types: a str or int subclass (an Enum's) is converted below
        return value
    fields = _stored_fields(kind)
    if fields is not None:
        out = {}
        for name, when_set in fields:
            item = getattr(value, name)
            if when_set and item is None:
                continue
            out[name] = item if type(item) in _AS_IS else to_jsonable(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    return value


_AS_IS = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=None)
def _stored_fields(kind: type) -> tuple[tuple[str, bool], ...] | None:
    """A dataclass's stored fields in order, each with whether it is left out while None (`stored_when_set`);
    None for a type that is not a dataclass. Once per type: a document is built field by field without asking
    `dataclasses` each time (a person's document walked ~40 values, each asking)."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple((f.name, bool(f.metadata.get(_WHEN_SET))) for f in dataclasses.fields(kind) if _stored(f))


def from_jsonable(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        non_none = [a for a in args if a is not type(None)]
        return from_jsonable(non_none[0], value)
    if value is None:
        return None
    if origin is typing.Literal:
        return value
    if origin in (list, set, frozenset):
        items = [from_jsonable(args[0], v) for v in value]
        return origin(items)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], v) for v in value)
        return tuple(from_jsonable(a, v) for a, v in zip(args, value))
    if origin is dict:
        return {from_jsonable(args[0], k): from_jsonable(args[1], v) for k, v in value.items()}
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return tp(value)
        if tp is datetime:
            return datetime.fromisoformat(value)
        if tp is date:
            return date.fromisoformat(value)
        if dataclasses.is_dataclass(tp):
            return build(tp, value)
    return value


def _identity(value: Any) -> Any:
    return value


def _converter(tp: Any) -> Callable[[Any], Any]:
    """`from_jsonable(tp, ·)` worked out once per type: resolving type hints per document cost more than
    reading it (typing.get_type_hints evaluates every annotation's string again)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _converter([a for a in args if a is not type(None)][0])
    if origin is typing.Literal:
        return _identity
    if origin in (list, set, frozenset):
        item = _converter(args[0])
        return lambda v: None if v is None else origin([item(x) for x in v])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            return lambda v: None if v is None else tuple(item(x) for x in v)
        items = [_converter(a) for a in args]
        return lambda v: None if v is None else tuple(c(x) for c, x in zip(items, v))
    if origin is dict:
        key, val = _converter(args[0]), _converter(args[1])
        return lambda v: None if v is None else {key(k): val(x) for k, x in v.items()}
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return lambda v: None if v is None else tp(v)
        if tp is datetime:
            return lambda v: None if v is None else datetime.fromisoformat(v)
        if tp is date:
            return lambda v: None if v is None else date.fromisoformat(v)
        if dataclasses.is_dataclass(tp):
            return lambda v: None if v is None else build(tp, v)
    return _identity


@functools.lru_cache(maxsize=None)
def _plan(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The stored fields of a dataclass with the converter of each (the type hints resolved once per class)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls) if f.init and _stored(f))


def build(cls: type, doc: dict[str, Any], **extra: Any) -> Any:
    kwargs = {name: convert(doc[name]) for name, convert in _plan(cls) if name in doc}
    return cls(**kwargs, **extra)


def to_document(aggregate: Any) -> dict[str, Any]:
    """The aggregate's stored form (a JSON object)."""
    return to_jsonable(aggregate)


def from_document(cls: type, doc: dict[str, Any], **extra: Any) -> Any:
    """The aggregate back from its stored form; `extra` supplies the fields that are not stored."""
    return build(cls, doc, **extra)
