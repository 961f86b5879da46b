"""The Person aggregate: one individual in the population register."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Callable

# One vocabulary for every service (issue 13): Sex and SpecificNeed come from the contract, re-exported here.
from pana_events.vocabulary import Sex, SpecificNeed  # noqa: F401
from pana_kit.documents import from_document, not_stored, to_document
from pana_kit.domain import Aggregate, InvalidInput, RuleViolation

from .countries import CITIZENSHIP_CODES, ISO_ALPHA3, NO_CITIZENSHIP, UNDETERMINED
from .documents import BirthDatePrecision, IdentityDocument, check_birth_before_issue
from .events import (
    BiometricsEnrolled, BirthReported, DuplicateOverridden, IdentityDocumentRecorded, PersonRegistered, PersonsMerged,
    PersonUpdated, SpecificNeedsChanged,
)
from .names import script_of, transliterate


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    ENGAGED = "engaged"
    DIVORCED = "divorced"
    SEPARATED = "separated"
    WIDOWED = "widowed"
    UNKNOWN = "unknown"


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    MESSENGER = "messenger"
    POSTAL = "postal"
    OTHER = "other"


@dataclass(frozen=True)
class Contact:
    kind: ContactKind
    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ContactKind(self.kind))
        if not self.value.strip():
            raise InvalidInput("a contact needs a value", rule="contact_value_required")


@dataclass(frozen=True)
class Address:
    """Address in Kazakhstan."""
    region: str | None = None
    locality: str | None = None
    street: str | None = None
    building: str | None = None
    apartment: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class ChangeEntry:
    """One change of a person's record: who, when, why and which fields (with old values)."""
    changed_by: str
    changed_at: datetime
    reason: str
    fields: tuple[str, ...]
    previous: dict[str, Any] = field(default_factory=dict)


# --- field validation, shared by register and update -------------------------------

def _name(value: Any) -> str:
    text = re.sub(r"\s+", " ", str(value or "")).strip()
    return text


def _optional_name(value: Any) -> str | None:
    return _name(value) or None


def _citizenships(value: Any) -> tuple[str, ...]:
    codes = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)
    codes = tuple(str(c).strip() for c in codes if c is not None and str(c).strip())
    if not codes:
        return (UNDETERMINED,)
    special = {c.lower() for c in codes} & {NO_CITIZENSHIP, UNDETERMINED}
    if special:
        if len(codes) > 1:
            raise InvalidInput("'none' or 'undetermined' stands alone", rule="citizenship_code",
                               extra={"field": "citizenships"})
        return (special.pop(),)
    normalised = tuple(dict.fromkeys(c.upper() for c in codes))
    for code in normalised:
        if code not in CITIZENSHIP_CODES:
            raise InvalidInput(f"{code} is not an ISO 3166-1 alpha-3 or ICAO 9303 code", rule="citizenship_code",
                               extra={"field": "citizenships"})
    return normalised


def _country(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    code = str(value).strip().upper()
    if code not in ISO_ALPHA3 and code != "XXX":
        raise InvalidInput(f"{code} is not an ISO 3166-1 alpha-3 code", rule="country_code",
                           extra={"field": "country_of_origin"})
    return code


def _date_or_none(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date", rule="date_format") from None


def _address(value: Any) -> Address | None:
    if value is None or isinstance(value, Address):
        return value
    return Address(**value)


def _contacts(value: Any) -> tuple[Contact, ...]:
    return tuple(c if isinstance(c, Contact) else Contact(**c) for c in (value or ()))


def _needs(value: Any) -> frozenset[SpecificNeed]:
    try:
        return frozenset(SpecificNeed(n) for n in (value or ()))
    except ValueError as exc:
        raise InvalidInput(str(exc), rule="specific_need_category", extra={"field": "specific_needs"}) from None


def _enum(cls: type[StrEnum]) -> Callable[[Any], StrEnum]:
    def coerce(value: Any) -> StrEnum:
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(f"{value!r} is not one of {[m.value for m in cls]}",
                               rule=f"{cls.__name__.lower()}_value") from None
    return coerce


FIELDS: dict[str, Callable[[Any], Any]] = {
    "given_name": _name,
    "family_name": _name,
    "patronymic": _optional_name,
    "given_name_latin": _optional_name,
    "family_name_latin": _optional_name,
    "patronymic_latin": _optional_name,
    "birth_date": _date_or_none,
    "birth_date_precision": _enum(BirthDatePrecision),
    "sex": _enum(Sex),
    "citizenships": _citizenships,
    "country_of_origin": _country,
    "ethnicity": _optional_name,
    "languages": lambda v: tuple(dict.fromkeys(str(x).strip().lower() for x in (v or ()) if str(x).strip())),
    "interpreter_needed": bool,
    "marital_status": _enum(MaritalStatus),
    "address": _address,
    "contacts": _contacts,
    "specific_needs": _needs,
}
_NAME_PARTS = ("given_name", "family_name", "patronymic")


@dataclass
class Person(Aggregate):
    person_id: str
    registered_at: datetime
    given_name: str
    family_name: str
    patronymic: str | None = None
    # Latin forms are stored once (transliterated at entry unless given), never recomputed on read.
    given_name_latin: str | None = None
    family_name_latin: str | None = None
    patronymic_latin: str | None = None
    name_script: str = "latin"
    birth_date: date | None = None
    birth_date_precision: BirthDatePrecision = BirthDatePrecision.EXACT
    sex: Sex = Sex.UNKNOWN
    citizenships: tuple[str, ...] = (UNDETERMINED,)
    country_of_origin: str | None = None
    ethnicity: str | None = None
    languages: tuple[str, ...] = ()
    interpreter_needed: bool = False
    marital_status: MaritalStatus = MaritalStatus.UNKNOWN
    address: Address | None = None
    contacts: tuple[Contact, ...] = ()
    specific_needs: frozenset[SpecificNeed] = frozenset()
    biometric_reference: str | None = None
    identity_documents: list[IdentityDocument] = field(default_factory=list)
    date_of_death: date | None = None
    merged_into: str | None = None
    # From the civil registry (birth registered or verified there); never typed in by hand.
    iin: str | None = None
    birth_certificate_number: str | None = None
    version: int = 1
    history: list[ChangeEntry] = field(default_factory=list)
    # The register's row holds these, not the document: set at registration and when loaded.
    registration_number: str | None = not_stored(default=None, compare=False)
    office: str | None = not_stored(default=None, compare=False)
    household_id: str | None = not_stored(default=None, compare=False)
    legal_status: str | None = not_stored(default=None, compare=False)  # the projection's current value

    # --- commands -----------------------------------------------------------------

    @classmethod
    def register(cls, *, person_id: str, registered_by: str, now: datetime,
                 identity_documents: list[IdentityDocument] = (), registration_number: str | None = None,
                 office: str | None = None, household_id: str | None = None, **details: Any) -> "Person":
        """Register a person. `details` are the keys of `FIELDS`; given and family name required."""
        values = _validated(details)
        for required in ("given_name", "family_name"):
            if not values.get(required):
                raise InvalidInput(f"{required} is required", rule="name_required", extra={"field": required})
        person = cls(person_id=person_id, registered_at=now, **values, registration_number=registration_number,
                     office=office, household_id=household_id)
        person._store_latin({p for p in _NAME_PARTS if not values.get(f"{p}_latin")})
        for doc in identity_documents:
            check_birth_before_issue(person.birth_date, person.birth_date_precision, doc)
        person.identity_documents = list(identity_documents)
        person.history.append(ChangeEntry(registered_by, now, "registration", ("*",)))
        person.record(PersonRegistered(person_id, now, registered_by, person.given_name, person.family_name,
                                       person.birth_date, person.sex.value,
                                       tuple(sorted(n.value for n in person.specific_needs)),
                                       registration_number, office, household_id))
        return person

    def report_birth(self, report: BirthReported) -> None:
        """This newly registered child's birth goes to the civil registry (whatever the parents' status)."""
        self.record(report)

    def update(self, changes: dict[str, Any], *, changed_by: str, reason: str, now: datetime) -> tuple[str, ...]:
        """Apply a partial update; returns the fields that actually changed (history + event)."""
        self._require_active()
        if not reason or not reason.strip():
            raise InvalidInput("every change says why", rule="change_reason_required", extra={"field": "reason"})
        values = _validated(changes)
        for part in ("given_name", "family_name"):
            if part in values and not values[part]:
                raise InvalidInput(f"{part} is required", rule="name_required", extra={"field": part})
        changed = {k: v for k, v in values.items() if getattr(self, k) != v}
        if not changed:
            return ()
        new_birth = changed.get("birth_date", self.birth_date)
        new_precision = changed.get("birth_date_precision", self.birth_date_precision)
        for doc in self.identity_documents:
            check_birth_before_issue(new_birth, new_precision, doc)
        previous = {k: _plain(getattr(self, k)) for k in changed}
        for key, value in changed.items():
            setattr(self, key, value)
        renamed = {p for p in _NAME_PARTS if p in changed and f"{p}_latin" not in changed}
        if renamed:
            for part in renamed:
                previous.setdefault(f"{part}_latin", getattr(self, f"{part}_latin"))
            self._store_latin(renamed)
        fields_changed = tuple(sorted(previous))
        self._changed(fields_changed, changed_by, reason, now, previous)
        if "specific_needs" in changed:
            self.record(SpecificNeedsChanged(self.person_id, tuple(sorted(n.value for n in self.specific_needs)), now))
        return fields_changed

    def add_identity_document(self, document: IdentityDocument, *, changed_by: str, reason: str,
                              now: datetime) -> None:
        self._require_active()
        check_birth_before_issue(self.birth_date, self.birth_date_precision, document)
        if any(d.kind == document.kind and d.number == document.number and d.issuing_state == document.issuing_state
               for d in self.identity_documents):
            raise RuleViolation("identity_document_recorded_once", f"{document.kind.value} {document.number} is already recorded")
        self.identity_documents.append(document)
        self._changed(("identity_documents",), changed_by, reason, now, {})
        self.record(IdentityDocumentRecorded(self.person_id, document.kind.value, document.number,
                                             document.issuing_state, now))

    def enrol_biometrics(self, reference: str, *, changed_by: str, now: datetime) -> None:
        """Store the reference to the biometric enrolment only; templates live elsewhere."""
        self._require_active()
        if not reference.strip():
            raise InvalidInput("a biometric enrolment reference is required", rule="biometric_reference_required")
        previous = {"biometric_reference": self.biometric_reference}
        self.biometric_reference = reference.strip()
        self._changed(("biometric_reference",), changed_by, "biometric enrolment", now, previous)
        self.record(BiometricsEnrolled(self.person_id, self.biometric_reference, now))

    def record_duplicate_override(self, candidate_person_ids: tuple[str, ...], *, override_reason: str,
                                  overridden_by: str, now: datetime) -> None:
        if not override_reason.strip():
            raise InvalidInput("an override needs its reason", rule="override_reason_required")
        self.record(DuplicateOverridden(self.person_id, tuple(candidate_person_ids), override_reason,
                                        overridden_by, now))

    def merge_into(self, surviving: "Person", *, merged_by: str, reason: str, now: datetime) -> None:
        """Fold this record into `surviving`; this one is kept, marked, and refuses changes."""
        self._require_active()
        if surviving.person_id == self.person_id:
            raise RuleViolation("merge_distinct_records", "a record cannot be merged into itself")
        if surviving.merged_into:
            raise RuleViolation("merge_distinct_records", f"{surviving.person_id} was itself merged")
        self.merged_into = surviving.person_id
        self._changed(("merged_into",), merged_by, reason, now, {"merged_into": None})
        for doc in self.identity_documents:
            if doc not in surviving.identity_documents:
                surviving.identity_documents.append(doc)
        surviving.specific_needs = surviving.specific_needs | self.specific_needs
        surviving._changed(("identity_documents", "specific_needs"), merged_by, f"merge of {self.person_id}: {reason}", now, {})
        self.record(PersonsMerged(surviving.person_id, self.person_id, merged_by, reason, now))

    def record_death(self, died_on: date, *, changed_by: str, reason: str, now: datetime) -> None:
        self._require_active()
        if self.birth_date and died_on < self.birth_date:
            raise InvalidInput("death before birth", rule="death_after_birth")
        self.date_of_death = died_on
        self._changed(("date_of_death",), changed_by, reason, now, {"date_of_death": None})

    def record_civil_registration(self, *, certificate_number: str, iin: str | None, now: datetime) -> bool:
        """The civil registry registered or verified this birth; returns whether anything changed."""
        if self.merged_into:
            return False
        previous = {"birth_certificate_number": self.birth_certificate_number, "iin": self.iin}
        new_iin = iin or self.iin
        if (certificate_number, new_iin) == (self.birth_certificate_number, self.iin):
            return False
        self.birth_certificate_number, self.iin = certificate_number, new_iin
        self._changed(("birth_certificate_number", "iin"), "civil-registry", "birth registration", now, previous)
        return True

    # --- reads ---------------------------------------------------------------------

    @property
    def etag(self) -> str:
        return f'"{self.person_id}-v{self.version}"'

    def latin_name(self) -> str:
        parts = (self.given_name_latin, self.patronymic_latin, self.family_name_latin)
        return " ".join(p for p in parts if p)

    # --- internals -------------------------------------------------------------------

    def _require_active(self) -> None:
        if self.merged_into:
            raise RuleViolation("merged_record_is_closed", f"{self.person_id} was merged into {self.merged_into}")

    def _store_latin(self, parts: set[str]) -> None:
        """Transliterate the given name parts once and store the Latin form."""
        for part in parts:
            original = getattr(self, part)
            setattr(self, f"{part}_latin", transliterate(original) or None if original else None)
        self.name_script = script_of(" ".join(p for p in (self.given_name, self.family_name, self.patronymic) if p))

    def _changed(self, fields_changed: tuple[str, ...], by: str, reason: str, now: datetime,
                 previous: dict[str, Any]) -> None:
        self.version += 1
        self.history.append(ChangeEntry(by, now, reason, tuple(fields_changed), previous))
        self.record(PersonUpdated(self.person_id, tuple(fields_changed), by, reason, now, self.version))

    # --- document round trip -------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        return to_document(self)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "Person":
        return from_document(cls, doc)


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown person fields: {sorted(unknown)}", rule="person_fields",
                           extra={"fields": sorted(unknown)})
    return {k: FIELDS[k](v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    """JSON-able form of a field value."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Address):
        return {k: v for k, v in vars(value).items()}
    if isinstance(value, frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Contact):
        return {"kind": value.kind.value, "value": value.value}
    return value
