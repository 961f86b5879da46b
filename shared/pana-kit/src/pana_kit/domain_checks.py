"""Domain-level reconciliation: do the services agree on the people they share?

Each service answers about its own records only, through the module it registers under the
`pana.reconcile` entry point (registration, rsd and statelessness: `<service>.store.reconcile`);
this module asks and compares. The checks:

- `referral-without-application`: a border referral registered in registration has no application in rsd
  (the asylum claim was lost between the services);
- `refugee-without-certificate`: a person who is a refugee in rsd holds no valid refugee certificate in
  registration (or registration does not know the person);
- `stateless-without-certificate`: a person recognised stateless holds no valid stateless person's
  certificate (from the certificate's minimum age; a child's comes later, as the rules say).

Findings carry ids only (never names), so they can be printed, logged and exported as metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from importlib.metadata import entry_points
from typing import Any

from .db import Database

CHECKS = ("referral-without-application", "refugee-without-certificate", "stateless-without-certificate")


@dataclass(frozen=True)
class Finding:
    check: str
    detail: str
    ids: dict[str, str]


def service_modules() -> dict[str, Any]:
    return {ep.name: ep.load() for ep in entry_points(group="pana.reconcile")}


async def run_domain_checks(databases: dict[str, Database], *, on: date | None = None,
                            modules: dict[str, Any] | None = None) -> list[Finding]:
    """Every check whose services' databases are given; findings sorted by check and ids."""
    from .metrics import DOMAIN_FINDINGS

    on = on or datetime.now(timezone.utc).date()
    modules = service_modules() if modules is None else modules
    usable = {name: (modules[name], databases[name]) for name in modules if name in databases}
    findings: list[Finding] = []

    async def ask(service: str, function: str, *args):
        module, db = usable[service]
        async with db.session() as session:
            return await getattr(module, function)(session, *args)

    ran: set[str] = set()
    if {"registration", "rsd"} <= set(usable):
        ran.add(CHECKS[0])
        referrals = await ask("registration", "registered_referrals")
        lodged = await ask("rsd", "applications_of_referrals", list(referrals))
        findings += [Finding(CHECKS[0], "registered border referral has no application in rsd",
                             {"referral_id": ref, "person_id": pid})
                     for ref, pid in referrals.items() if ref not in lodged]

        ran.add(CHECKS[1])
        refugees = await ask("rsd", "recognised_persons")
        lacking = await ask("registration", "lacking_certificates", "refugee_certificate", list(refugees), on)
        findings += [Finding(CHECKS[1], why, {"person_id": pid, "application_id": refugees[pid]})
                     for pid, why in lacking.items()]
    if {"registration", "statelessness"} <= set(usable):
        ran.add(CHECKS[2])
        stateless = await ask("statelessness", "recognised_stateless")
        lacking = await ask("registration", "lacking_certificates", "stateless_person_certificate", list(stateless), on)
        findings += [Finding(CHECKS[2], why, {"person_id": pid, "case_id": stateless[pid]})
                     for pid, why in lacking.items()]
    findings.sort(key=lambda f: (f.check, sorted(f.ids.items())))
    for check in ran:
        DOMAIN_FINDINGS.labels(check).set(sum(1 for f in findings if f.check == check))
    return findings
