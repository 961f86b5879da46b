"""Keyset pagination, written once: every list of every service pages through `Keyset.page`.

A page is fetched as `limit + 1` rows after the last row of the previous page in a total
order (the keys end with a unique id), so pages stay stable while rows are added and no
list is ever unbounded. The cursor is an opaque token naming that last row's keys.
Repositories build the filtered statement; `Keyset` orders it, resumes it and cuts it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Generic, Sequence, TypeVar

from sqlalchemy import literal, tuple_

from .domain import DomainError

T = TypeVar("T")


class InvalidCursor(DomainError):
    status = 400
    type_suffix = "invalid-cursor"

    def __init__(self) -> None:
        super().__init__("the cursor is not one this service issued")


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":"), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(value, dict):
            raise ValueError("not an object")
        return value
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc


@dataclass(frozen=True)
class Key:
    """One sort key: its name in the cursor, the SQL expression ordered by, and how to read it from a row."""

    name: str
    column: Any
    value: Callable[[Any], Any] | None = None  # default: the row's attribute named like the column
    kind: type | None = None  # datetime, date, int or str; default: the column's Python type

    def of(self, row: Any) -> Any:
        return self.value(row) if self.value else getattr(row, self.column.key)

    def parse(self, raw: Any) -> Any:
        kind = self.kind or _python_type(self.column)
        if kind is datetime:
            return datetime.fromisoformat(str(raw))
        if kind is date:
            return date.fromisoformat(str(raw))
        if kind is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValueError("not an integer")
            return raw
        if not isinstance(raw, str):
            raise ValueError("not text")
        return raw

    def dump(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, (date, datetime)) else value


def _python_type(column: Any) -> type:
    sql_type = column.type
    for candidate in (sql_type, getattr(sql_type, "impl", None)):  # a TypeDecorator knows through its impl
        try:
            return candidate.python_type
        except (AttributeError, NotImplementedError):
            continue
    return str


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class Keyset:
    """A total order over rows, for pages: `Keyset(Key("created_at", Row.created_at), Key("id", Row.id))`."""

    def __init__(self, *keys: Key):
        if not keys:
            raise ValueError("a keyset needs at least one key")
        self.keys = keys

    def position(self, cursor: dict[str, Any] | None) -> tuple | None:
        if not cursor:
            return None
        try:
            return tuple(key.parse(cursor[key.name]) for key in self.keys)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCursor() from exc

    def statement(self, stmt, cursor: dict[str, Any] | None, limit: int):
        """`stmt` ordered by the keys, after the cursor's row, `limit + 1` rows (the extra says 'more')."""
        position = self.position(cursor)
        columns = [key.column for key in self.keys]
        if position is not None:
            # Bound with each column's type, so SQLite compares times as it stores them.
            values = [literal(value, type_=column.type) for column, value in zip(columns, position)]
            stmt = stmt.where(tuple_(*columns) > tuple_(*values)) if len(columns) > 1 else stmt.where(columns[0] > values[0])
        return stmt.order_by(*columns).limit(limit + 1)

    def cut(self, rows: Sequence[T], limit: int) -> Page[T]:
        items = list(rows[:limit])
        if len(rows) <= limit or not items:
            return Page(items, None)
        last = items[-1]
        return Page(items, encode_cursor({key.name: key.dump(key.of(last)) for key in self.keys}))

    async def page(self, session, stmt, *, cursor: dict[str, Any] | str | None, limit: int) -> Page:
        """Run the statement for one page (ORM entities when it selects one, rows otherwise)."""
        if isinstance(cursor, str):
            cursor = decode_cursor(cursor)
        result = await session.execute(self.statement(stmt, cursor, limit))
        rows = list(result.scalars()) if len(result.keys()) == 1 else list(result.all())
        return self.cut(rows, limit)


def by_creation(row_type: Any, *, at: str = "created_at", key: str = "id") -> Keyset:
    """The usual order of a list: oldest first, ties broken by id (cursor keys as the columns are named)."""
    return Keyset(Key(at, getattr(row_type, at)), Key(key, getattr(row_type, key)))
