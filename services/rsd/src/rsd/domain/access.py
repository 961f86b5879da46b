"""Who may read an application's claim (narrative, interview records, assessment notes): issue #15.

The claim is read by the people of that procedure only:

- the **assigned officer**: the officer of the application's latest assignment (`Application.officer_id`,
  from `assignments`; set at lodging or by `rsd:manage`). A reassignment moves the access: the previous
  officer no longer reads the claim;
- the **deciding supervisor**: a holder of `rsd:decide` (the supervisor role) of the application's office
  (the office scope is applied before, by the repository). rsd assigns no supervisor in advance: any
  supervisor of the office may be the one who decides (four eyes: not the recommending officer), and must
  read the claim to do so.

Everyone else, an eligibility officer of the same office included, is refused (403, rule
`claim_reader_not_assigned`). Plain rules: the caller is its subject and scopes.
"""

from __future__ import annotations

from pana_kit.domain import AccessDenied

DECIDE_SCOPE = "rsd:decide"
RULE_CLAIM_READER = "claim_reader_not_assigned"


def check_claim_reader(*, assigned_officer: str | None, subject: str, scopes: frozenset[str]) -> str:
    """Why the caller may read the claim (`assigned_officer` or `deciding_supervisor`), else `AccessDenied`."""
    if assigned_officer is not None and subject == assigned_officer:
        return "assigned_officer"
    if DECIDE_SCOPE in scopes:
        return "deciding_supervisor"
    raise AccessDenied(RULE_CLAIM_READER, "the claim is read only by the officer assigned to the application and "
                                          "the supervisor who decides it")
