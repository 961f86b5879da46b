"""Background job: flag missed deadlines and publish `rsd.deadline.missed.v1` once for each."""

from __future__ import annotations

import logging
from datetime import date

from pana_kit.domain import utcnow
from pana_kit.jobs import periodic
from pana_kit.outbox import UnitOfWork

from .service import report_missed_deadlines
from .store.repository import Applications

log = logging.getLogger("rsd.deadlines")


async def flag_missed_deadlines(app_state, today: date, *, batch: int = 200) -> int:
    """One pass over applications with an unreported deadline before `today`. Returns events written."""
    written, after = 0, ""
    while True:
        async with UnitOfWork(app_state.db, app_state.source, signal=app_state.signal) as uow:
            ids = await Applications(uow.session, app_state.rules).due_for_watch(today=today, limit=batch,
                                                                                 after_id=after)
            for application_id in ids:  # the save moves watch_due past what was just reported
                written += await report_missed_deadlines(uow, app_state.rules, application_id, today)
        if len(ids) < batch:
            return written
        after = ids[-1]


def deadline_watcher(interval_s: int, batch: int):
    return periodic("watch_deadlines", lambda app: flag_missed_deadlines(app.state, utcnow().date(), batch=batch),
                    interval_s=interval_s, log=log, done="reported %d missed deadlines")
