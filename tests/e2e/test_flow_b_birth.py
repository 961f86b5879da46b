"""Flow (b): a child born in Kazakhstan to stateless parents is registered and protected."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest
from support import HTTP_TIMEOUT, headers, wait_for

pytestmark = pytest.mark.e2e


def _post(stack, service, path, body, role="registration-officer"):
    r = httpx.post(stack.url(service) + path, json=body,
                   headers=headers(role, purpose=None, idempotency_key=str(uuid.uuid4())), timeout=HTTP_TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()


def _items(stack, service, path, params, role):
    r = httpx.get(stack.url(service) + path, params=params, headers=headers(role), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_birth_to_stateless_parents_is_registered_and_flagged(stack):
    tag = uuid.uuid4().hex[:6]
    mother = _post(stack, "registration", "/api/v1/persons", {
        "given_name": "Gulnara", "family_name": f"Sultanova{tag}", "birth_date": "1994-02-03", "sex": "female",
        "citizenship": ["XXA"],
    })
    father = _post(stack, "registration", "/api/v1/persons", {
        "given_name": "Rustam", "family_name": f"Sultanov{tag}", "birth_date": "1990-07-21", "sex": "male",
        "citizenship": ["XXA"],
    })
    household = _post(stack, "registration", "/api/v1/households", {
        "focal_person_id": mother["person_id"],
        "members": [{"person_id": father["person_id"], "relationship": "spouse"}],
    })
    born = (date.today() - timedelta(days=2)).isoformat()
    child = _post(stack, "registration", f"/api/v1/households/{household['household_id']}/births", {
        "given_name": "Aruzhan", "family_name": f"Sultanova{tag}", "birth_date": born, "sex": "female",
        "place_of_birth": "Almaty", "born_in_kazakhstan": True, "mother_person_id": mother["person_id"],
        "father_person_id": father["person_id"], "medical_birth_certificate_number": f"MBC-{tag}",
    })
    child_id = child["person_id"]

    # civil-registry-bridge: not in the registry, so it submits the registration and follows it through.
    def registered():
        items = _items(stack, "civil-registry-bridge", "/api/v1/birth-verifications", {"child_person_id": child_id},
                       "civil-registrar")
        return [i for i in items if i["status"] == "registered"]
    [request] = wait_for(registered, timeout=120, what="birth registered through the bridge")
    assert request["certificate_number"] and request["iin"]

    # statelessness: the child is flagged at risk and a case is opened ex officio.
    [flag] = wait_for(lambda: _items(stack, "statelessness", "/api/v1/children-at-risk", {"child_person_id": child_id},
                                     "statelessness-officer"), timeout=90, what="child flagged at risk")
    assert flag["rule"] == "stateless_parents"
    [case] = wait_for(lambda: _items(stack, "statelessness", "/api/v1/cases", {"person_id": child_id},
                                     "statelessness-officer"), timeout=90, what="case opened ex officio")
    assert case["reason"] == "child_at_risk"
