"""Nationality inquiries to States linked to the person (MIA Order No. 607)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pana_kit.domain import add_months

from .rules import StatelessnessRules


class StateLink(StrEnum):
    """Why a State might consider the person its national."""

    BIRTH = "birth"
    DESCENT = "descent"
    RESIDENCE = "residence"
    MARRIAGE = "marriage"


class InquiryAnswer(StrEnum):
    CONFIRMS_NATIONAL = "confirms_national"
    DENIES = "denies"
    PARTIAL = "partial"  # a reply that neither confirms nor denies


class InquiryStatus(StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"  # deadline passed with no reply: a finding


def normalise_state(state: str) -> str:
    """States are ISO 3166-1 alpha-3 (or alpha-2) codes, compared upper-case."""
    return state.strip().upper()


@dataclass
class NationalityInquiry:
    inquiry_id: str
    state: str
    link: StateLink
    sent_on: date
    reply_due: date
    status: InquiryStatus = InquiryStatus.SENT
    answer: InquiryAnswer | None = None
    answered_on: date | None = None
    unanswered_found_on: date | None = None

    @classmethod
    def send(cls, inquiry_id: str, state: str, link: StateLink, sent_on: date, rules: StatelessnessRules) -> NationalityInquiry:
        return cls(
            inquiry_id=inquiry_id,
            state=normalise_state(state),
            link=StateLink(link),
            sent_on=sent_on,
            reply_due=add_months(sent_on, rules.inquiry_reply_months),
        )

    @property
    def awaiting_reply(self) -> bool:
        return self.status is InquiryStatus.SENT

    def is_overdue(self, today: date) -> bool:
        """Still awaiting a reply and past its reply deadline."""
        return self.awaiting_reply and today > self.reply_due

    @property
    def confirms_national(self) -> bool:
        return self.answer is InquiryAnswer.CONFIRMS_NATIONAL
