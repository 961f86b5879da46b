"""Small converters for the JSON-able documents aggregates round-trip through."""

from __future__ import annotations

from datetime import date


def iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None
