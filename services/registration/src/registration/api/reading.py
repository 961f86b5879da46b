"""Reads of personal data run in `audited_reading`: the audit entry of a read that finds nothing is kept."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import Request

from pana_kit.domain import NotFound


@asynccontextmanager
async def audited_reading(request: Request) -> AsyncIterator:
    """A transaction for an audited read (`service.audited_read`). A `NotFound` raised inside commits the
    transaction (the audit entry of the miss) before it reaches the caller as 404; any other error rolls back."""
    missing: NotFound | None = None
    async with request.app.state.db.transaction() as session:
        try:
            yield session
        except NotFound as exc:
            missing = exc
    if missing is not None:
        raise missing
