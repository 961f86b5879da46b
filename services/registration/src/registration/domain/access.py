"""Who may read which persons: least privilege for the register's personal data (issue #15).

A person's office is the office that registered them (`Person.office`, from the registering
officer's access token; stored as `persons.office`). There is no transfer between offices yet, so
the registering office is also the current one. Records without an office (registered before the
office was recorded, or by a token naming none) are read only with the national scope.

- `registration:read` reads the persons of the caller's own office (the token's `office` claim);
- `registration:read:national` (with `registration:read`) reads every office's persons;
- searching by a sensitive specific need (`SENSITIVE_SPECIFIC_NEEDS`: survivors of SGBV or torture)
  also needs `registration:search:sensitive`, a supervisor's scope.

Plain rules: the caller is described by its scopes and office, never by HTTP or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from pana_events.vocabulary import SENSITIVE_SPECIFIC_NEEDS, SpecificNeed
from pana_kit.domain import AccessDenied

NATIONAL_SCOPE = "registration:read:national"
SENSITIVE_SEARCH_SCOPE = "registration:search:sensitive"

RULE_OFFICE_REQUIRED = "reader_office_required"
RULE_SENSITIVE_FILTER = "sensitive_need_filter_needs_supervisor"


@dataclass(frozen=True)
class Reader:
    """The caller of a read: its scopes and office (the token's `office` claim)."""

    scopes: frozenset[str]
    office: str | None

    @property
    def national(self) -> bool:
        return NATIONAL_SCOPE in self.scopes

    def office_filter(self) -> str | None:
        """The office whose persons this reader sees, or None for every office (national scope)."""
        if self.national:
            return None
        if not self.office:
            raise AccessDenied(RULE_OFFICE_REQUIRED, "the access token names no office, and reading persons of "
                                                     "every office needs the scope " + NATIONAL_SCOPE)
        return self.office

    def may_read(self, person_office: str | None) -> bool:
        """A person's record: their office's readers, or a national reader (records with no office: national only)."""
        return self.national or (bool(self.office) and person_office == self.office)

    def check_need_filter(self, need: str | SpecificNeed | None) -> None:
        """Listing survivors of SGBV or torture needs a supervisor's scope."""
        if need is None:
            return
        try:
            need = SpecificNeed(need)
        except ValueError:
            return
        if need in SENSITIVE_SPECIFIC_NEEDS and SENSITIVE_SEARCH_SCOPE not in self.scopes:
            raise AccessDenied(RULE_SENSITIVE_FILTER, f"searching by the specific need {need.value} needs the "
                                                      f"scope {SENSITIVE_SEARCH_SCOPE} (supervisor)")
