"""Background job: flag missed deadlines and publish `rsd.deadline.missed.v1` once for each."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from pana_kit.domain import utcnow
from pana_kit.outbox import UnitOfWork

from .domain import Application
from .publishing import publish
from .store.repository import Applications

log = logging.getLogger("rsd.deadlines")


async def flag_missed_deadlines(app_state, today: date, *, batch: int = 200) -> int:
    """One pass over applications with an unreported deadline before `today`. Returns events written."""
    written, after = 0, ""
    while True:
        async with UnitOfWork(app_state.db, app_state.source, signal=app_state.signal) as uow:
            repo = Applications(uow.session, app_state.rules)
            rows = await repo.due_for_watch(today=today, limit=batch, after_id=after)
            for row in rows:
                app = Application.from_document(row.document, rules=app_state.rules)
                missed = app.flag_missed_deadlines(today)
                await repo.save(app, row.version)  # watch_due moves past what was just reported
                publish(uow, app)
                written += len(missed)
        if len(rows) < batch:
            return written
        after = rows[-1].id


def deadline_watcher(interval_s: int, batch: int):
    async def watch_deadlines(app) -> None:
        while True:
            try:
                count = await flag_missed_deadlines(app.state, utcnow().date(), batch=batch)
                if count:
                    log.info("reported %d missed deadlines", count)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed pass is retried at the next interval
                log.exception("deadline pass failed")
            await asyncio.sleep(interval_s)

    return watch_deadlines
