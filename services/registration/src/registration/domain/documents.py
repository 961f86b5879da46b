"""Identity documents a person holds, and the documents the service issues.

Issued documents: asylum-seeker certificate, refugee certificate, stateless person
certificate, and the statelessness procedure certificate (lawful stay while statelessness is determined). Each carries a number with a check digit, a validity and a QR payload
signed with Ed25519 that anyone holding the published public key verifies offline.
A document's `expires_on` is its last valid day.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pana_kit.documents import from_document as _from_document, not_stored, to_document as _to_document
from pana_kit.domain import Aggregate, InvalidInput, RuleViolation, add_months, age_on

from .events import DocumentIssued, DocumentRevoked
from .legal_status import LegalStatus, LegalStatusProjection
from .mrz import MachineReadableZone, check_digit
from .rules import RegistrationRules


class BirthDatePrecision(StrEnum):
    EXACT = "exact"
    MONTH = "month"
    YEAR = "year"
    ESTIMATED = "estimated"


# --- documents held ------------------------------------------------------------------

class IdentityDocumentKind(StrEnum):
    PASSPORT = "passport"
    NATIONAL_ID = "national_id"
    BIRTH_CERTIFICATE = "birth_certificate"
    RESIDENCE_PERMIT = "residence_permit"
    TRAVEL_DOCUMENT = "travel_document"
    MARRIAGE_CERTIFICATE = "marriage_certificate"
    DRIVING_LICENCE = "driving_licence"
    MILITARY_ID = "military_id"
    OTHER = "other"


@dataclass(frozen=True)
class IdentityDocument:
    kind: IdentityDocumentKind
    number: str
    issuing_state: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    original_seen: bool = False
    mrz: MachineReadableZone | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", IdentityDocumentKind(self.kind))
        if not self.number.strip():
            raise InvalidInput("an identity document needs its number", rule="document_number_required")
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            raise InvalidInput("a document cannot expire before it was issued", rule="document_expiry_after_issue")

    @classmethod
    def from_mrz(cls, mrz: MachineReadableZone, *, issued_on: date | None = None) -> "IdentityDocument":
        kind = IdentityDocumentKind.PASSPORT if mrz.document_code.startswith("P") else IdentityDocumentKind.NATIONAL_ID
        return cls(kind=kind, number=mrz.document_number, issuing_state=mrz.issuing_state,
                   issued_on=issued_on, expires_on=mrz.expiry_date, original_seen=True, mrz=mrz)

    def to_document(self) -> dict[str, Any]:
        return _to_document(self)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "IdentityDocument":
        return _from_document(cls, doc)


def check_birth_before_issue(birth_date: date | None, precision: BirthDatePrecision | str,
                             document: IdentityDocument) -> None:
    """Refuse a birth date after the document's issue date (compared at the date's precision)."""
    if birth_date is None or document.issued_on is None:
        return
    precision = BirthDatePrecision(precision)
    issued = document.issued_on
    if precision is BirthDatePrecision.ESTIMATED:
        return  # an estimate cannot contradict a document
    if precision is BirthDatePrecision.YEAR:
        after = birth_date.year > issued.year
    elif precision is BirthDatePrecision.MONTH:
        after = (birth_date.year, birth_date.month) > (issued.year, issued.month)
    else:
        after = birth_date > issued
    if after:
        raise InvalidInput(
            f"birth date {birth_date.isoformat()} is after the issue date {issued.isoformat()} "
            f"of {document.kind.value} {document.number}",
            rule="birth_date_not_after_document_issue",
            extra={"field": "birth_date", "document_number": document.number},
        )


# --- documents issued -----------------------------------------------------------------

class IssuedDocumentKind(StrEnum):
    ASYLUM_SEEKER_CERTIFICATE = "asylum_seeker_certificate"
    REFUGEE_CERTIFICATE = "refugee_certificate"
    STATELESS_PERSON_CERTIFICATE = "stateless_person_certificate"
    # Identity and lawful stay for an applicant while statelessness is determined (UNHCR Handbook 2014).
    STATELESSNESS_PROCEDURE_CERTIFICATE = "statelessness_procedure_certificate"


DOCUMENT_PREFIX: dict[IssuedDocumentKind, str] = {
    IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE: "AS",
    IssuedDocumentKind.REFUGEE_CERTIFICATE: "RF",
    IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE: "SP",
    IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE: "SD",
}
_PREFIX_KIND = {v: k for k, v in DOCUMENT_PREFIX.items()}

# The legal status each document stands on; when that status ends the document is revoked.
STATUS_BEHIND: dict[IssuedDocumentKind, str] = {
    IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE: "asylum_seeker",
    IssuedDocumentKind.REFUGEE_CERTIFICATE: "refugee",
    IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE: "stateless",
    IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE: "stateless_applicant",
}

_NUMBER = re.compile(r"^(AS|RF|SP|SD)(\d{2})(\d{7})(\d)$")


def document_number(kind: IssuedDocumentKind | str, year: int, serial: int) -> str:
    """'AS' | 'RF' | 'SP' | 'SD', two-digit year, seven-digit serial, ICAO 7-3-1 check digit.

    The serial comes from the store's sequence; e.g. document_number(ASC, 2025, 123) ->
    'AS250000123' + check digit.
    """
    if not 0 < serial < 10**7:
        raise InvalidInput("document serial out of range", rule="document_number_format")
    body = f"{DOCUMENT_PREFIX[IssuedDocumentKind(kind)]}{year % 100:02d}{serial:07d}"
    return body + str(check_digit(body))


def check_document_number(number: str) -> IssuedDocumentKind:
    """Refuse a malformed number (shape or check digit) before any lookup; return its kind."""
    candidate = (number or "").strip().upper()
    m = _NUMBER.match(candidate)
    if not m or int(m.group(4)) != check_digit(candidate[:-1]):
        raise InvalidInput(
            "not a document number: two letters (AS, RF, SP, SD), nine digits and a check digit",
            rule="document_number_format",
            extra={"field": "document_number"},
        )
    return _PREFIX_KIND[m.group(1)]


class DocumentState(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"


@dataclass
class IssuedDocument(Aggregate):
    document_number: str
    kind: IssuedDocumentKind
    holder_person_id: str
    holder_birth_date: date | None
    issued_on: date
    expires_on: date
    dependant_person_ids: tuple[str, ...] = ()
    state: DocumentState = DocumentState.ISSUED
    revoked_on: date | None = None
    revocation_reason: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    # The register's row id (published as document_id), not part of the document.
    document_id: str | None = not_stored(default=None, compare=False)

    @property
    def status_category(self) -> str:
        return STATUS_BEHIND[self.kind]

    def revoke(self, *, on: date, reason: str) -> None:
        if self.state is DocumentState.REVOKED:
            raise RuleViolation("document_already_revoked", f"{self.document_number} was revoked on {self.revoked_on}")
        self.state, self.revoked_on, self.revocation_reason = DocumentState.REVOKED, on, reason
        self.record(DocumentRevoked(self.document_number, self.kind.value, self.holder_person_id, on, reason))

    def to_document(self) -> dict[str, Any]:
        return _to_document(self)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "IssuedDocument":
        return _from_document(cls, doc)


def _issue(kind: IssuedDocumentKind, number: str, holder_person_id: str, holder_birth_date: date | None,
           issued_on: date, expires_on: date, dependants: tuple[str, ...] = (),
           replaces: str | None = None) -> IssuedDocument:
    if check_document_number(number) is not kind:
        raise InvalidInput(f"{number} is not a number for a {kind.value}", rule="document_number_format")
    doc = IssuedDocument(number, kind, holder_person_id, holder_birth_date, issued_on, expires_on,
                         dependants, replaces=replaces)
    doc.record(DocumentIssued(number, kind.value, holder_person_id, dependants, issued_on, expires_on, replaces))
    return doc


def _last_day(start: date, months: int) -> date:
    return add_months(start, months) - timedelta(days=1)


def certificate_expiry(kind: IssuedDocumentKind | str, issued_on: date, rules: RegistrationRules, *,
                       requested_until: date | None = None) -> date:
    """A certificate's last valid day, decided in one place.

    An asylum-seeker certificate rsd requests is valid until the day rsd gives (rsd decides the period);
    otherwise registration decides: the kind's validity from the rules, ending the day before the same date
    that many months later."""
    kind = IssuedDocumentKind(kind)
    if requested_until is not None:
        if requested_until < issued_on:
            raise InvalidInput("a certificate cannot expire before it is issued", rule="document_expiry_after_issue")
        return requested_until
    months = {IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE: rules.asylum_seeker_certificate_months,
              IssuedDocumentKind.REFUGEE_CERTIFICATE: rules.refugee_certificate_months,
              IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE: 12 * rules.stateless_person_certificate_years,
              IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE: rules.statelessness_procedure_certificate_months,
              }[kind]
    return _last_day(issued_on, months)


@dataclass(frozen=True)
class Dependant:
    """A child entered on a parent's asylum-seeker certificate."""
    person_id: str
    birth_date: date | None


def unaccompanied_minor(holder_birth_date: date | None, member_birth_dates: Iterable[date], *, on: date,
                        rules: RegistrationRules) -> bool:
    """A certificate's holder is an unaccompanied minor when they are under the adult age on `on` and no
    other member of the request is an adult: the child gets their own certificate, whether or not the
    register holds the `unaccompanied_or_separated_child` need. Ages are taken on the day of issue."""
    if holder_birth_date is None or age_on(holder_birth_date, on) >= rules.adult_age:
        return False
    return all(age_on(b, on) < rules.adult_age for b in member_birth_dates)


def issue_asylum_seeker_certificate(
    *, number: str, holder_person_id: str, holder_birth_date: date | None, registered_on: date,
    rules: RegistrationRules, children: Iterable[Dependant] = (), unaccompanied_minor: bool = False,
    valid_until: date | None = None,
) -> IssuedDocument:
    """Issued the day the application is registered, valid until `valid_until` when rsd gives it, else
    `asylum_seeker_certificate_months` (`certificate_expiry`).

    Adults get one; children are entered on a parent's; an unaccompanied minor gets their own.
    """
    children = tuple(children)
    if holder_birth_date is not None and not unaccompanied_minor:
        if age_on(holder_birth_date, registered_on) < rules.asylum_seeker_certificate_min_age:
            raise RuleViolation(
                "asylum_seeker_certificate_for_adults",
                "a child is entered on a parent's asylum-seeker certificate; "
                "only an unaccompanied minor gets their own",
            )
    if unaccompanied_minor and children:
        raise RuleViolation("asylum_seeker_certificate_for_adults",
                            "children are entered on a parent's certificate, not on a minor's")
    for child in children:
        if child.birth_date is not None and age_on(child.birth_date, registered_on) >= rules.adult_age:
            raise RuleViolation("children_on_parent_certificate",
                                f"{child.person_id} is an adult and needs their own certificate")
    return _issue(IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, number, holder_person_id, holder_birth_date,
                  registered_on, certificate_expiry(IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, registered_on, rules,
                                                    requested_until=valid_until),
                  tuple(c.person_id for c in children))


def extend_asylum_seeker_certificate(previous: IssuedDocument, *, number: str, extended_on: date,
                                     rules: RegistrationRules, valid_until: date | None = None) -> IssuedDocument:
    """A new certificate each time the procedure is extended (until rsd's `valid_until`, else 3 months)."""
    if previous.kind is not IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE:
        raise RuleViolation("extension_of_asylum_seeker_certificate", "only an asylum-seeker certificate is extended")
    if previous.state is DocumentState.REVOKED:
        raise RuleViolation("extension_of_asylum_seeker_certificate", f"{previous.document_number} is revoked")
    if previous.replaced_by:
        raise RuleViolation("extension_of_asylum_seeker_certificate",
                            f"{previous.document_number} was already replaced by {previous.replaced_by}")
    new = _issue(IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, number, previous.holder_person_id,
                 previous.holder_birth_date, extended_on,
                 certificate_expiry(IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, extended_on, rules,
                                    requested_until=valid_until),
                 previous.dependant_person_ids, replaces=previous.document_number)
    previous.replaced_by = number
    return new


def issue_refugee_certificate(*, number: str, holder_person_id: str, holder_birth_date: date | None,
                              issued_on: date, rules: RegistrationRules,
                              replaces: str | None = None) -> IssuedDocument:
    return _issue(IssuedDocumentKind.REFUGEE_CERTIFICATE, number, holder_person_id, holder_birth_date,
                  issued_on, certificate_expiry(IssuedDocumentKind.REFUGEE_CERTIFICATE, issued_on, rules),
                  replaces=replaces)


def issue_stateless_person_certificate(*, number: str, holder_person_id: str, holder_birth_date: date | None,
                                       issued_on: date, rules: RegistrationRules,
                                       replaces: str | None = None) -> IssuedDocument:
    """For stateless persons aged 16+, valid 5 years."""
    _check_stateless_age(holder_birth_date, issued_on, rules)
    return _issue(IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE, number, holder_person_id, holder_birth_date,
                  issued_on, certificate_expiry(IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE, issued_on, rules),
                  replaces=replaces)


def issue_statelessness_procedure_certificate(*, number: str, holder_person_id: str,
                                              holder_birth_date: date | None, issued_on: date,
                                              rules: RegistrationRules, valid_until: date | None = None,
                                              replaces: str | None = None) -> IssuedDocument:
    """Identity and lawful stay while statelessness is determined: issued when the case opens, valid
    `statelessness_procedure_certificate_months` (`certificate_expiry`), or until `valid_until` (the end of the
    appeal window after a first not-stateless determination)."""
    return _issue(IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE, number, holder_person_id,
                  holder_birth_date, issued_on,
                  certificate_expiry(IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE, issued_on, rules,
                                     requested_until=valid_until), replaces=replaces)


def reissue_procedure_certificate(previous: IssuedDocument, *, number: str, on: date, rules: RegistrationRules,
                                  valid_until: date | None = None) -> IssuedDocument:
    """The statelessness procedure goes on (its decision date extended, an appeal lodged) or its first
    determination leaves only the appeal window: a new certificate from `on` (`certificate_expiry`, or until
    `valid_until`). The old one is marked replaced and stays valid to its own last day, unless that day is after
    the new one's: then it is revoked (`superseded`), so no paper outlasts the procedure."""
    if previous.kind is not IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE:
        raise RuleViolation("reissue_of_procedure_certificate", "only the statelessness procedure certificate")
    _refuse_unless_current(previous, "reissued")
    new = issue_statelessness_procedure_certificate(
        number=number, holder_person_id=previous.holder_person_id, holder_birth_date=previous.holder_birth_date,
        issued_on=on, rules=rules, valid_until=valid_until, replaces=previous.document_number)
    previous.replaced_by = number
    if previous.expires_on > new.expires_on:
        previous.revoke(on=on, reason="superseded")
    return new


def _check_stateless_age(birth_date: date | None, on: date, rules: RegistrationRules) -> None:
    if birth_date is None or age_on(birth_date, on) < rules.stateless_person_certificate_min_age:
        raise RuleViolation(
            "stateless_person_certificate_age",
            f"the stateless person certificate is issued from age {rules.stateless_person_certificate_min_age}",
        )


def backed_by(kind: IssuedDocumentKind | str, projection: LegalStatusProjection) -> bool:
    """Whether the procedure that issued a document of this kind still backs it.

    Each document follows its own procedure's track, never the combined status: the asylum-seeker
    certificate while the asylum track is `asylum_seeker` (it ends on a final rejection, on closure, and
    on recognition, when the refugee certificate replaces it); the refugee certificate while the track is
    `refugee` (it ends with cessation, cancellation or revocation); the stateless person's certificate
    while statelessness is determined. Death ends every document, and so does acquiring citizenship
    (naturalization, or Kazakh citizenship by birth confirmed): a citizen needs no protection, so the refugee
    certificate and the asylum-seeker certificate end with it too; with death, the only facts outside a
    document's own procedure that end it."""
    if projection.dead or projection.acquired_citizenship:
        return False
    match IssuedDocumentKind(kind):
        case IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE:
            return projection.rsd_track is LegalStatus.ASYLUM_SEEKER
        case IssuedDocumentKind.REFUGEE_CERTIFICATE:
            return projection.rsd_track is LegalStatus.REFUGEE
        case IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE:
            return projection.statelessness_track is LegalStatus.STATELESS
        case IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE:
            # while the procedure runs: lodged, extended, under appeal, and a first not-stateless determination
            # until it is final (the paper then runs to the end of the appeal window)
            return (projection.statelessness_track is LegalStatus.STATELESS_APPLICANT
                    or (projection.statelessness_track is LegalStatus.NOT_STATELESS
                        and projection.statelessness_appealable))
    return False  # pragma: no cover - every kind is listed above


def revoke_unbacked(documents: Iterable[IssuedDocument], projection: LegalStatusProjection, *, on: date,
                    ) -> list[IssuedDocument]:
    """Revoke every live document its own procedure no longer backs (`backed_by`); return them.

    A fact of one procedure never ends another procedure's document: a stateless person who lodges an
    asylum claim keeps the stateless person's certificate."""
    revoked = []
    for doc in documents:
        if doc.state is DocumentState.ISSUED and not backed_by(doc.kind, projection):
            doc.revoke(on=on, reason=_ending_reason(doc.kind, projection))
            revoked.append(doc)
    return revoked


def _ending_reason(kind: IssuedDocumentKind, projection: LegalStatusProjection) -> str:
    if projection.dead:
        return "the holder died"
    if projection.naturalized:
        return "naturalized"
    if projection.citizen:
        return "citizen"
    if kind is IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE:
        return f"statelessness is now {projection.statelessness_track.value}"
    if kind is IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE:
        return f"statelessness procedure ended: {projection.statelessness_track.value}"
    return f"asylum procedure status is now {projection.rsd_track.value}"


# --- the paper documents' lifecycle: renewal, replacement, the stateless certificate at 16 ------------

class ReplacementReason(StrEnum):
    """Why a holder needs a new paper: the old number is revoked with this reason (verification says it)."""
    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"


def _refuse_unless_current(previous: IssuedDocument, rule_prefix: str) -> None:
    if previous.state is DocumentState.REVOKED:
        raise RuleViolation("document_revoked", f"{previous.document_number} was revoked on {previous.revoked_on} "
                                                f"({previous.revocation_reason}); it cannot be {rule_prefix}")
    if previous.replaced_by:
        raise RuleViolation("document_already_replaced",
                            f"{previous.document_number} was already replaced by {previous.replaced_by}")


def renewal_period_start(previous: IssuedDocument, renewed_on: date) -> date:
    """The next validity period starts the day after the old one ends, or on the renewal day when the old
    document has already expired (no period is skipped, none overlaps twice)."""
    return max(renewed_on, previous.expires_on + timedelta(days=1))


def renew_document(previous: IssuedDocument, projection: LegalStatusProjection, *, number: str, renewed_on: date,
                   rules: RegistrationRules, valid_until: date | None = None) -> IssuedDocument:
    """A new document of the same kind for the next validity period (`certificate_expiry`); the old one is
    marked replaced (`replaced_by`) and stays valid to its own last day.

    Refused (409) when the document is revoked (`document_revoked`) or already replaced
    (`document_already_replaced`), and when the person's procedure no longer backs that kind
    (`renewal_not_backed_by_procedure`, `backed_by`): the refugee certificate only while refugee status lasts,
    the stateless person's certificate while statelessness is determined and the person is not naturalized,
    the asylum-seeker certificate only while the person is an asylum seeker (an extension, an appeal)."""
    if not backed_by(previous.kind, projection):  # first: the rule says why, also for a document it revoked
        raise RuleViolation(
            "renewal_not_backed_by_procedure",
            f"a {previous.kind.value} is not renewed: {_ending_reason(previous.kind, projection)}",
            kind=previous.kind.value, legal_status=projection.status.value)
    _refuse_unless_current(previous, "renewed")
    start = renewal_period_start(previous, renewed_on)
    if previous.kind is IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE:
        _check_stateless_age(previous.holder_birth_date, renewed_on, rules)
    expires_on = certificate_expiry(previous.kind, start, rules, requested_until=valid_until)
    new = _issue(previous.kind, number, previous.holder_person_id, previous.holder_birth_date, renewed_on,
                 expires_on, previous.dependant_person_ids, replaces=previous.document_number)
    previous.replaced_by = number
    return new


def replace_document(previous: IssuedDocument, projection: LegalStatusProjection, *, number: str, replaced_on: date,
                     reason: ReplacementReason | str) -> IssuedDocument:
    """A lost, stolen or damaged document: the old number is revoked with the reason and a new number is
    issued with the same expiry (a replacement is not a renewal).

    Refused when the document is revoked or already replaced, when it has expired (`replacement_of_expired_
    document`: renew it instead), and when its procedure no longer backs it."""
    reason = ReplacementReason(reason)
    _refuse_unless_current(previous, "replaced")
    if replaced_on > previous.expires_on:
        raise RuleViolation("replacement_of_expired_document",
                            f"{previous.document_number} expired on {previous.expires_on}; renew it instead")
    if not backed_by(previous.kind, projection):
        raise RuleViolation(
            "replacement_not_backed_by_procedure",
            f"a {previous.kind.value} is not replaced: {_ending_reason(previous.kind, projection)}",
            kind=previous.kind.value, legal_status=projection.status.value)
    new = _issue(previous.kind, number, previous.holder_person_id, previous.holder_birth_date, replaced_on,
                 previous.expires_on, previous.dependant_person_ids, replaces=previous.document_number)
    previous.replaced_by = number
    previous.revoke(on=replaced_on, reason=reason.value)
    return new


def stateless_certificate_due(projection: LegalStatusProjection, birth_date: date | None,
                              held: Iterable[IssuedDocument], *, on: date, rules: RegistrationRules) -> bool:
    """A recognised stateless person gets the certificate on reaching `stateless_person_certificate_min_age`
    (a child has none before), when statelessness still backs it and they hold none that is not revoked (an
    expired one is renewed by an officer, not issued again)."""
    if birth_date is None or age_on(birth_date, on) < rules.stateless_person_certificate_min_age:
        return False
    if not backed_by(IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE, projection):
        return False
    return not any(d.kind is IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE and d.state is DocumentState.ISSUED
                   for d in held)


# --- verification for service providers ---------------------------------------------------

class VerificationOutcome(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def effective_status(document: IssuedDocument, today: date) -> VerificationOutcome:
    """What a document is worth today: revoked, expired (past its last valid day) or valid. The documents
    list and the verification answer both read it, so they always agree."""
    if document.state is DocumentState.REVOKED:
        return VerificationOutcome.REVOKED
    if today > document.expires_on:
        return VerificationOutcome.EXPIRED
    return VerificationOutcome.VALID


@dataclass(frozen=True)
class VerificationResult:
    """What a service provider learns: nothing about the claim."""
    outcome: VerificationOutcome
    status_category: str | None = None
    expires_on: date | None = None
    entitlements: tuple[str, ...] = field(default=())
    # Only why a paper was replaced (lost, stolen, damaged): never the claim's outcome.
    revocation_reason: ReplacementReason | None = None

    def to_document(self) -> dict[str, Any]:
        doc = _to_document(self)
        if self.revocation_reason is None:
            doc.pop("revocation_reason", None)  # told only when there is one
        return doc


@dataclass(frozen=True)
class VerificationEntry:
    """All verification reads of a document: the verification projection's row (`VerificationIndex`), kept in
    the transaction that issues, revokes or replaces the document. Expiry needs no update: it is a date, and
    `effective_status` compares it with today. Holds only what a check may tell (a revocation reason only when
    it is lost, stolen or damaged) and the holder's birth date, the check value the caller must match."""
    document_number: str
    kind: str
    state: str
    expires_on: date
    holder_birth_date: date | None
    revocation_reason: str | None = None

    @classmethod
    def of(cls, document: IssuedDocument) -> "VerificationEntry":
        reason = document.revocation_reason
        return cls(document.document_number, document.kind.value, document.state.value, document.expires_on,
                   document.holder_birth_date, reason if reason in _TOLD_REASONS else None)


_TOLD_REASONS = frozenset(r.value for r in ReplacementReason)


def verify_entry(number: str, entry: VerificationEntry | None, *, birth_date: date, today: date,
                 rules: RegistrationRules, checked: bool = False) -> VerificationResult:
    """Answer a status check from the projection. A malformed number raises `InvalidInput`; a document that
    does not exist, or whose holder's birth date differs, answers 'unknown' (nothing leaks). `checked`: the caller
    has just passed `number` through `check_document_number` (not checked twice: a verification's hot path)."""
    if not checked:
        check_document_number(number)
    if (entry is None or entry.document_number != number.strip().upper()
            or entry.holder_birth_date is None or entry.holder_birth_date != birth_date):
        return VerificationResult(VerificationOutcome.UNKNOWN)
    kind = IssuedDocumentKind(entry.kind)
    category = STATUS_BEHIND[kind]
    if entry.state == DocumentState.REVOKED.value:
        reason = entry.revocation_reason
        return VerificationResult(VerificationOutcome.REVOKED, category, entry.expires_on,
                                  revocation_reason=ReplacementReason(reason) if reason in _TOLD_REASONS else None)
    if today > entry.expires_on:
        return VerificationResult(VerificationOutcome.EXPIRED, category, entry.expires_on)
    return VerificationResult(VerificationOutcome.VALID, category, entry.expires_on,
                              tuple(rules.entitlements.get(entry.kind, ())))


def verify_document(number: str, document: IssuedDocument | None, *, birth_date: date, today: date,
                    rules: RegistrationRules) -> VerificationResult:
    """Answer a status check from the document itself (the same answer as from its projection)."""
    return verify_entry(number, VerificationEntry.of(document) if document is not None else None,
                        birth_date=birth_date, today=today, rules=rules)


# --- signed QR payload ------------------------------------------------------------------

QR_PREFIX = "PANA1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def qr_payload(document: IssuedDocument, private_key: Ed25519PrivateKey, *, key_id: str = "1") -> str:
    """'PANA1.<base64url JSON>.<base64url Ed25519 signature>': number, kind, status, dates."""
    claims = {
        "v": 1, "kid": key_id, "n": document.document_number, "k": document.kind.value,
        "s": document.status_category, "i": document.issued_on.isoformat(),
        "e": document.expires_on.isoformat(),
    }
    return sign_claims(claims, private_key)


def sign_claims(claims: dict[str, Any], private_key: Ed25519PrivateKey) -> str:
    """'PANA1.<base64url of the claims as compact JSON, keys sorted, UTF-8>.<base64url Ed25519 signature over
    'PANA1.<claims>'>' (the signature the verification page checks in the browser)."""
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
    signed = f"{QR_PREFIX}.{body}".encode()
    return f"{QR_PREFIX}.{body}.{_b64(private_key.sign(signed))}"


def verify_qr_payload(payload: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Check the signature offline and return the claims; refuses anything tampered with.

    Revocation is only known online (`verify_document`); offline the expiry is the limit.
    """
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != QR_PREFIX:
        raise InvalidInput("not a Pana document QR payload", rule="qr_payload_format")
    try:
        signature = _unb64(parts[2])
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
        return json.loads(_unb64(parts[1]))
    except InvalidSignature:
        raise InvalidInput("the QR payload's signature does not verify", rule="qr_payload_signature") from None
    except (ValueError, TypeError):
        raise InvalidInput("not a Pana document QR payload", rule="qr_payload_format") from None

