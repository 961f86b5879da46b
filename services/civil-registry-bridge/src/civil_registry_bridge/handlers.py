"""Consumed events -> the bridge's use cases (`service.py`). Each handler runs in one unit of
work with its inbox record; it only stores the request; the worker calls the registry later."""

from __future__ import annotations

from collections.abc import Callable

from pana_events import Envelope
from pana_events.events import registration as reg
from pana_kit.domain import utcnow, new_id
from pana_kit.outbox import UnitOfWork

from . import service
from .domain.details import ChildDetails, ParentDetails
from .domain.request import BirthRequest
from .domain.rules import BridgeRules


def _text(value: str | None) -> str | None:
    return value.strip()[:200] if value and value.strip() else None


def request_from_birth_recorded(event: reg.BirthRecorded, *, request_id: str, now, rules: BridgeRules) -> BirthRequest:
    child = ChildDetails.from_document({
        "surname": _text(event.family_name), "given_name": _text(event.given_name),
        "patronymic": _text(event.patronymic), "birth_date": event.birth_date.isoformat(), "sex": event.sex,
        "place_of_birth": {"in_kazakhstan": event.born_in_kazakhstan, "locality": _text(event.place_of_birth)},
    })
    mother = None
    if _text(event.mother_family_name) and _text(event.mother_given_name):
        mother = ParentDetails.from_document({
            "surname": _text(event.mother_family_name), "given_name": _text(event.mother_given_name),
            "birth_date": event.mother_birth_date.isoformat() if event.mother_birth_date else None,
            "legal_status": _text(event.mother_status),  # recorded as given, never checked (2019 amendments)
        }, "mother")
    return BirthRequest.receive(
        request_id=request_id, kind="verification", idempotency_key=event.child_person_id,
        child=child, mother=mother, father=None,
        medical_birth_certificate_number=_text(event.medical_birth_certificate_number),
        person_id=event.child_person_id, now=now, rules=rules,
    )


class BridgeHandlers:
    def __init__(self, rules: BridgeRules, wake: Callable[[], None]):
        self.rules = rules
        self.wake = wake

    def table(self) -> dict:
        return {reg.BirthRecorded.event_type: self.birth_recorded}

    async def birth_recorded(self, event: reg.BirthRecorded, envelope: Envelope, uow: UnitOfWork) -> None:
        """A child was born into a registered household: verify the birth (and register it if missing)."""
        request = request_from_birth_recorded(event, request_id=new_id(), now=utcnow(), rules=self.rules)
        if await service.receive_recorded_birth(uow, request):
            self.wake()
