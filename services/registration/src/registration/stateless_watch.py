"""Background job: once a day, the stateless person's certificate for every recognised stateless person who
has reached the age and holds none (`service.issue_due_stateless_certificates`, safe on several instances)."""

from __future__ import annotations

import logging

from pana_kit.domain import utcnow
from pana_kit.jobs import periodic

from .service import issue_due_stateless_certificates

log = logging.getLogger("registration.documents")


def stateless_certificate_watcher(interval_s: int, batch: int):
    return periodic(
        "issue_stateless_certificates",
        lambda app: issue_due_stateless_certificates(app.state, utcnow().date(), app.state.rules, batch=batch),
        interval_s=interval_s, log=log, done="issued %d stateless person's certificates on coming of age")
