"""Dataclass <-> JSON-able dict, driven by type hints (dates as ISO strings, enums by value)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from typing import Any

_SKIP = {"pending_events", "rules"}


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _SKIP
        }
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


def build(cls: type, doc: dict[str, Any], **extra: Any) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: from_jsonable(hints[f.name], doc[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name not in _SKIP and f.name in doc
    }
    return cls(**kwargs, **extra)
