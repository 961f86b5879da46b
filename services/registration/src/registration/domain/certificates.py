"""Printable certificates: what a certificate card says, and the claims its QR code carries.

The QR code carries only what is printed on the card (number, kind, status category, validity, the holder's
names in the original script and in Latin, birth date), so a clerk who checks it offline sees the card's own
words and nothing more. A revoked or replaced document is never printed again: the holder's current paper is
the new number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pana_kit.domain import InvalidInput, RuleViolation

from .documents import DocumentState, IssuedDocument, IssuedDocumentKind
from .names import transliterate
from .person import Person


class CertificateLanguage(StrEnum):
    KAZAKH = "kk"
    RUSSIAN = "ru"


class CertificateSize(StrEnum):
    A6 = "a6"  # the card the holder carries
    A4 = "a4"  # the same, on a sheet (office printers)


@dataclass(frozen=True)
class CertificateContent:
    """Everything a printed certificate says (and its QR code carries)."""
    number: str
    kind: IssuedDocumentKind
    status_category: str
    issued_on: date
    expires_on: date
    family_name: str
    given_name: str
    patronymic: str | None
    family_name_latin: str
    given_name_latin: str
    patronymic_latin: str | None
    birth_date: date | None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.family_name, self.given_name, self.patronymic) if p)

    @property
    def name_latin(self) -> str:
        return " ".join(p for p in (self.family_name_latin, self.given_name_latin, self.patronymic_latin) if p)

    def claims(self, key_id: str) -> dict[str, Any]:
        """The QR claims: the card's fields under short keys (a smaller code), nothing that is not printed."""
        claims: dict[str, Any] = {
            "v": 1, "kid": key_id, "n": self.number, "k": self.kind.value, "s": self.status_category,
            "i": self.issued_on.isoformat(), "e": self.expires_on.isoformat(), "nm": self.name,
            "nl": self.name_latin,
        }
        if self.birth_date is not None:
            claims["b"] = self.birth_date.isoformat()
        return claims


def printable_certificate(document: IssuedDocument, holder: Person) -> CertificateContent:
    """The card for a document of `holder`; refuses a revoked or replaced document (409): reprinting it would
    put a second paper in circulation for a number verification no longer vouches for."""
    if document.holder_person_id != holder.person_id:
        raise InvalidInput("the document is not this person's", rule="certificate_holder")
    if document.state is DocumentState.REVOKED:
        raise RuleViolation("document_revoked", f"{document.document_number} was revoked on {document.revoked_on}; "
                                                "print the document that replaced it")
    if document.replaced_by:
        raise RuleViolation("document_already_replaced",
                            f"{document.document_number} was replaced by {document.replaced_by}; print that one")
    return CertificateContent(
        number=document.document_number, kind=document.kind, status_category=document.status_category,
        issued_on=document.issued_on, expires_on=document.expires_on,
        family_name=holder.family_name, given_name=holder.given_name, patronymic=holder.patronymic,
        family_name_latin=holder.family_name_latin or transliterate(holder.family_name),
        given_name_latin=holder.given_name_latin or transliterate(holder.given_name),
        patronymic_latin=(holder.patronymic_latin or transliterate(holder.patronymic)) if holder.patronymic else None,
        birth_date=holder.birth_date)
