"""Which scopes each kind of user holds: the one place roles map to scopes."""

from __future__ import annotations

SERVICES = ("registration", "rsd", "statelessness", "civil-registry-bridge")

SCOPES: dict[str, str] = {
    "registration:refer": "Refer a person who asks for asylum at the border",
    "registration:read": "Read person, household and document records of the caller's office",
    "registration:read:national": "Read person records of every office (with registration:read)",
    "registration:search:sensitive": "Search the register by a sensitive specific need (supervisor)",
    "registration:write": "Register and update persons and households",
    "registration:merge": "Review and merge duplicate records",
    "registration:verify": "Verify a document's status (service providers)",
    "registration:statistics": "Read aggregated registration statistics",
    "rsd:read": "Read asylum applications",
    "rsd:lodge": "Lodge and register applications",
    "rsd:interview": "Schedule and record interviews",
    "rsd:assess": "Record assessments",
    "rsd:recommend": "Recommend a decision",
    "rsd:decide": "Decide applications and appeals (supervisor)",
    "rsd:manage": "Assign and reassign cases",
    "rsd:statistics": "Read RSD statistics",
    "statelessness:read": "Read statelessness cases",
    "statelessness:write": "Open and work statelessness cases",
    "statelessness:determine": "Determine statelessness and decide appeals",
    "statelessness:statistics": "Read statelessness statistics",
    "civil-registry:read": "Read birth verification requests",
    "civil-registry:verify": "Request birth verification",
    "civil-registry:submit": "Submit birth registrations",
    "iin:check": "Check an IIN's format and check digit",
    "audit:read": "Query the audit log",
    "webhooks:manage": "Subscribe to a service's events by webhook (with the read scopes of those events)",
}

_ELIGIBILITY = {"rsd:read", "rsd:lodge", "rsd:interview", "rsd:assess", "rsd:recommend", "registration:read"}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "border-officer": frozenset({"registration:refer"}),
    "registration-officer": frozenset({
        "registration:read", "registration:write", "registration:merge", "registration:statistics",
        "civil-registry:read", "civil-registry:verify", "iin:check",
    }),
    "eligibility-officer": frozenset(_ELIGIBILITY),
    # Supervisors alone may list survivors of SGBV or torture (to plan protection), within their office.
    "supervisor": frozenset(_ELIGIBILITY | {
        "registration:search:sensitive", "rsd:decide", "rsd:manage", "rsd:statistics", "registration:statistics",
        "statelessness:read", "statelessness:determine", "statelessness:statistics",
    }),
    # Statelessness determination is one national procedure (cases open from any office, ex officio from
    # events): its officers read the register nationally. Every other role reads its own office only.
    "statelessness-officer": frozenset({
        "statelessness:read", "statelessness:write", "statelessness:determine", "statelessness:statistics",
        "registration:read", "registration:read:national",
    }),
    "civil-registrar": frozenset({"civil-registry:read", "civil-registry:verify", "civil-registry:submit", "iin:check"}),
    "service-provider": frozenset({"registration:verify"}),
    "auditor": frozenset({"audit:read"}),
    # Another government system receiving events by webhook (client credentials). Its client is granted only the
    # read scopes of the events it needs; a subscriber receives only events its scopes may read.
    "integration-system": frozenset({
        "webhooks:manage", "registration:read", "rsd:read", "statelessness:read", "civil-registry:read",
    }),
}

ROLES = tuple(ROLE_SCOPES)


def scopes_for(roles: list[str] | tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for role in roles:
        out |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(out)
