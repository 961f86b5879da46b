"""What every use case shares: the audit entries registration writes."""

from __future__ import annotations

from pana_kit import audit as audit_log
from pana_kit.application import Audit
from pana_kit.domain import NotFound


SERVICE = "registration"


def audit(principal, action: str, resource: str) -> Audit:
    return Audit(principal, action, resource, purpose="registration", service=SERVICE)


async def record_audit(uow, entry: Audit, **outcome: str) -> None:
    """An audit entry the template does not write itself (an override, a change decided by the step, an outcome)."""
    await audit_log.record(uow.session, entry.principal, entry.action, entry.resource, purpose=entry.purpose,
                           service=entry.service, **outcome)


async def audited_read(session, found, *, principal, action: str, resource: str, purpose: str, what: str):
    """Every read of personal data is audited, whether or not the record exists; `NotFound` when it does not."""
    await audit_log.record(session, principal, action, resource, purpose=purpose,
                           outcome="ok" if found is not None else "not_found", service=SERVICE)
    if found is None:
        raise NotFound(f"no {what}")
    return found
