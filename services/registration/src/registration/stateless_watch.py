"""Background job: once a day, the stateless person's certificate for every recognised stateless person who
has reached the age and holds none (`service.issue_due_stateless_certificates`, safe on several instances)."""

from __future__ import annotations

import asyncio
import logging

from pana_kit.domain import utcnow

from .service import issue_due_stateless_certificates

log = logging.getLogger("registration.documents")


def stateless_certificate_watcher(interval_s: int, batch: int):
    async def issue_stateless_certificates(app) -> None:
        while True:
            try:
                count = await issue_due_stateless_certificates(app.state, utcnow().date(), app.state.rules,
                                                               batch=batch)
                if count:
                    log.info("issued %d stateless person's certificates on coming of age", count)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed pass is retried at the next interval
                log.exception("stateless certificate pass failed")
            await asyncio.sleep(interval_s)

    return issue_stateless_certificates
