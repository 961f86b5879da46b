"""What every use case shares: the audit entries registration writes."""

from __future__ import annotations

from pana_kit import audit as audit_log
from pana_kit.application import Audit
from pana_kit.domain import NotFound

from ..domain import Reader


SERVICE = "registration"


def audit(principal, action: str, resource: str) -> Audit:
    return Audit(principal, action, resource, purpose="registration", service=SERVICE)


async def record_audit(uow, entry: Audit, **outcome: str) -> None:
    """An audit entry the template does not write itself (an override, a change decided by the step, an outcome)."""
    await audit_log.record(uow.session, entry.principal, entry.action, entry.resource, purpose=entry.purpose,
                           service=entry.service, **outcome)


async def audited_read(session, found, *, principal, action: str, resource: str, purpose: str, what: str,
                       visible: bool = True):
    """Every read of personal data is audited, whether or not the record exists; `NotFound` when it does not.

    `visible=False` (a record outside the caller's scope, e.g. a person of another office) is answered as
    not found, so a refusal never reveals that the record exists, and audited as `out_of_scope`."""
    outcome = "not_found" if found is None else "ok" if visible else "out_of_scope"
    await audit_log.record(session, principal, action, resource, purpose=purpose, outcome=outcome, service=SERVICE)
    if found is None or not visible:
        raise NotFound(f"no {what}")
    return found


def reader(principal) -> Reader:
    """The caller of a read, as the access rules see it (scopes and office)."""
    return Reader(scopes=frozenset(principal.scopes), office=principal.office)


async def audit_returned(session, principal, ids, *, purpose: str) -> None:
    """Who was shown to whom: one `search-result` entry per record a search or a list returned."""
    for resource in ids:
        await audit_log.record(session, principal, "search-result", resource, purpose=purpose, outcome="returned",
                               service=SERVICE)
