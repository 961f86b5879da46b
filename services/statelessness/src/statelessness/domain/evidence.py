"""Evidence in a determination case. The burden of proof is shared (UNHCR Handbook para 89):
each item records whether the applicant brought it or the officer sought it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pana_kit.domain import InvalidInput


class EvidenceKind(StrEnum):
    DOCUMENT = "document"
    TESTIMONY = "testimony"
    INQUIRY_RESULT = "inquiry_result"


class EvidenceWeight(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class BroughtBy(StrEnum):
    APPLICANT = "applicant"
    OFFICER = "officer"  # sought by the examining officer


@dataclass(frozen=True)
class Evidence:
    evidence_id: str
    kind: EvidenceKind
    source: str
    weight: EvidenceWeight
    brought_by: BroughtBy
    received_on: date
    description: str = ""

    def __post_init__(self) -> None:
        if not self.evidence_id.strip():
            raise InvalidInput("evidence_id must not be empty")
        if not self.source.strip():
            raise InvalidInput("an evidence item must name its source")
