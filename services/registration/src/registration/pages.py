"""Pages over a list held in memory (a ranked search result, a person's history): the cursor is an offset.

Lists stored as rows page through `pana_kit.paging.Keyset` in the repositories; these lists have no
stable key of their own (a rank), so their cursor is a position `{"i": n}`, read and written only here.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

from pana_kit.paging import InvalidCursor, Page, encode_cursor

T = TypeVar("T")


def offset_of(cursor: dict | None, *, most: int | None = None) -> int:
    """The position a cursor names; `most` bounds a position we could have issued."""
    if not cursor:
        return 0
    start = cursor.get("i")
    if not isinstance(start, int) or start < 0 or (most is not None and start > most):
        raise InvalidCursor()
    return start


def offset_page(items: Sequence[T], start: int, limit: int) -> Page[T]:
    """`limit` items from position `start` (read with `offset_of`, before any other work)."""
    more = start + limit < len(items)
    return Page(list(items[start:start + limit]), encode_cursor({"i": start + limit}) if more else None)
