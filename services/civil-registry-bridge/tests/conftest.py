from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from datetime import date, datetime, timezone

import pytest
from pana_events.identifiers import make_iin

from civil_registry_bridge.domain.details import ChildDetails, ParentDetails, PlaceOfBirth
from civil_registry_bridge.domain.request import BirthRequest
from civil_registry_bridge.domain.rules import BridgeRules

NOW = datetime(2024, 6, 14, 10, 0, tzinfo=timezone.utc)  # a Friday
CHILD_BIRTH = date(2024, 6, 12)  # a Wednesday: deadline Monday 17 June


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def rules() -> BridgeRules:
    return BridgeRules()


@pytest.fixture
def child_doc() -> dict:
    return {
        "surname": "Nurlanova", "given_name": "Aigerim", "patronymic": None,
        "birth_date": CHILD_BIRTH.isoformat(), "sex": "female",
        "place_of_birth": {"in_kazakhstan": True, "region": "Almaty", "locality": "Almaty"},
    }


@pytest.fixture
def mother_doc() -> dict:
    return {"surname": "Karimova", "given_name": "Madina", "birth_date": "1995-03-01",
            "nationality": "AF", "legal_status": "asylum_seeker"}


@pytest.fixture
def father_doc() -> dict:
    return {"surname": "Karimov", "given_name": "Farid", "birth_date": "1990-11-20",
            "nationality": "unknown", "legal_status": "undocumented"}


@pytest.fixture
def make_request(child_doc, mother_doc, father_doc, rules):
    """Factory: a received BirthRequest; keyword overrides go to `BirthRequest.receive`."""

    def build(**overrides) -> BirthRequest:
        args = dict(
            request_id="req-1", kind="verification", idempotency_key="key-1",
            child=ChildDetails.from_document(child_doc),
            mother=ParentDetails.from_document(mother_doc, "mother"),
            father=ParentDetails.from_document(father_doc, "father"),
            medical_birth_certificate_number="MBC-2024-000123", person_id="person-7",
            now=NOW, rules=rules,
        )
        args.update(overrides)
        return BirthRequest.receive(**args)

    return build


@pytest.fixture
def child_iin() -> str:
    return make_iin(CHILD_BIRTH, "female", 42)


@pytest.fixture
def place_in_kz() -> PlaceOfBirth:
    return PlaceOfBirth(in_kazakhstan=True, region="Almaty", locality="Almaty", country="KZ")
