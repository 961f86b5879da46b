"""The registration service's rules: every period and threshold docs/domain.md ("Registration") gives as a default."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

ALL_SERVICES: tuple[str, ...] = ("medical_care", "employment", "education", "social_assistance")
# The protection documents an entitlement belongs to (documents.IssuedDocumentKind's values).
DOCUMENT_KINDS: tuple[str, ...] = ("asylum_seeker_certificate", "refugee_certificate", "stateless_person_certificate",
                                   "statelessness_procedure_certificate")


def _default_entitlements() -> dict[str, tuple[str, ...]]:
    # Equal access pledge (2023): the same four services for every protection document.
    # Open: narrow per document kind here if the law says otherwise.
    return {
        "asylum_seeker_certificate": ALL_SERVICES,
        "refugee_certificate": ALL_SERVICES,
        "stateless_person_certificate": ALL_SERVICES,
        "statelessness_procedure_certificate": ALL_SERVICES,
    }


@dataclass(frozen=True)
class RegistrationRules:
    # Border referral: lodging within 5 calendar days of arrival, 1 day after irregular entry.
    registration_window_days: int = 5
    registration_window_days_irregular_entry: int = 1
    # Certificates.
    asylum_seeker_certificate_months: int = 3
    asylum_seeker_certificate_min_age: int = 18
    refugee_certificate_months: int = 12  # open: default 1 year, renewable
    stateless_person_certificate_years: int = 5
    stateless_person_certificate_min_age: int = 16
    # Lawful stay while statelessness is determined (open: the decision is due in 6 months).
    statelessness_procedure_certificate_months: int = 6
    adult_age: int = 18
    # Status verification for service providers: a client that guesses numbers is slowed down.
    verification_requests_per_minute: int = 60
    verification_failures_before_delay: int = 5
    verification_failure_window_seconds: int = 600
    verification_delay_base_seconds: float = 1.0
    verification_delay_max_seconds: float = 60.0
    entitlements: dict[str, tuple[str, ...]] = field(default_factory=_default_entitlements)
    # A group border referral (a family travelling together) names at most this many persons.
    group_referral_max_members: int = 30
    # Statistics: cells below this count are masked as '*'.
    statistics_small_cell_threshold: int = 5

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("asylum_seeker_certificate_months", "refugee_certificate_months",
                     "stateless_person_certificate_years", "verification_requests_per_minute",
                     "group_referral_max_members", "statelessness_procedure_certificate_months"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.verification_delay_max_seconds < self.verification_delay_base_seconds:
            raise ValueError("verification_delay_max_seconds is below verification_delay_base_seconds")
        for kind, services in self.entitlements.items():
            if kind not in DOCUMENT_KINDS:
                raise ValueError(f"entitlements: unknown document kind {kind!r}; known: {', '.join(DOCUMENT_KINDS)}")
            unknown = [s for s in services if s not in ALL_SERVICES]
            if unknown:
                raise ValueError(f"entitlements_{kind}: unknown service(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(ALL_SERVICES)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RegistrationRules":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown registration rules: {sorted(unknown)}")
        values = dict(data)
        if "entitlements" in values:
            values["entitlements"] = {k: tuple(v) for k, v in values["entitlements"].items()}
        return cls(**values)


def verification_delay(recent_failures: int, rules: RegistrationRules) -> float:
    """Seconds to hold a verification answer for a client with `recent_failures` misses
    (unknown or malformed numbers) inside `verification_failure_window_seconds`.

    No delay up to the allowance, then doubling from the base up to the maximum.
    """
    excess = recent_failures - rules.verification_failures_before_delay
    if excess < 0:
        return 0.0
    return min(rules.verification_delay_max_seconds, rules.verification_delay_base_seconds * (2 ** min(excess, 30)))
