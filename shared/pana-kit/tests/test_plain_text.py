"""Names and texts refuse bidi controls and zero-width characters (every service, every field).

On main `"Karimov\u202e"` was a valid family name everywhere, and a zero-width space made one name two.
ZERO WIDTH NON-JOINER stays valid between letters: Persian and Dari names are spelled with it.
"""

from __future__ import annotations

import pytest
from civil_registry_bridge.app import create as create_bridge
from civil_registry_bridge.settings import BridgeSettings
from pana_dev.testing import service_harness
from pana_kit.fields import PlainText, format_character_problem
from pydantic import TypeAdapter, ValidationError
from registration.app import create as create_registration
from registration.settings import RegistrationSettings
from rsd.app import create as create_rsd
from rsd.settings import RsdSettings
from statelessness.app import create as create_statelessness
from statelessness.settings import StatelessnessSettings

PERSIAN_WITH_ZWNJ = "علی\u200cزاده"  # Alizadeh: ZWNJ between two letters, as Persian writes it


@pytest.mark.parametrize("text, rule", [
    ("Karimov\u202e", "bidi_control"), ("\u202dKarimov", "bidi_control"), ("Kari\u2067mov", "bidi_control"),
    ("Kari\u200fmov", "bidi_control"), ("Kari\u200emov", "bidi_control"), ("Kari\u061cmov", "bidi_control"),
    ("Kari\u200bmov", "zero_width_character"), ("Kari\u2060mov", "zero_width_character"),
    ("\ufeffKarimov", "zero_width_character"), ("\u200cKarimov", "zero_width_character"),
    ("Karimov\u200d", "zero_width_character"), ("Kari \u200cmov", "zero_width_character"),
    ("Kari\u200c\u200cmov", "zero_width_character"), ("Kari\u00admov", "format_character"),
    ("Kari\U000e0041mov", "format_character"),
])
def test_invisible_characters_are_refused_with_their_rule(text, rule):
    problem = format_character_problem(text)
    assert problem is not None and problem[0] == rule
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(PlainText).validate_python(text)
    assert refused.value.errors()[0]["type"] == rule


@pytest.mark.parametrize("text", ["Karimov", "Нұрлыбеков", PERSIAN_WITH_ZWNJ, "नमस्\u200dते", "O'Brien-Smith",
                                  "محمد", "Ахмад Шах"])
def test_names_in_every_script_pass(text):
    assert format_character_problem(text) is None
    assert TypeAdapter(PlainText).validate_python(text) == text


def _refused(r, field: str, rule: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {"field": field, "code": rule} in [{"field": e["field"], "code": e["code"]} for e in r.json()["errors"]]


async def test_registration_refuses_a_bidi_override_in_a_name_and_keeps_persian_names(tmp_path):
    async with service_harness(create_registration, RegistrationSettings, tmp_path) as h:
        person = {"given_name": "Azizbek", "family_name": "Karimov", "birth_date": "1990-05-04", "sex": "male",
                  "citizenship": ["AFG"], "country_of_origin": "AFG"}
        officer = h.headers("registration-officer")
        r = await h.client.post("/api/v1/persons", json={**person, "family_name": "Karimov\u202e"},
                                headers={**officer, "Idempotency-Key": "plain-text-1"})
        _refused(r, "family_name", "bidi_control")
        r = await h.client.post("/api/v1/persons", json={**person, "addresses": [{"locality": "Al\u200bmaty"}]},
                                headers={**officer, "Idempotency-Key": "plain-text-2"})
        _refused(r, "addresses.0.locality", "zero_width_character")
        r = await h.client.get("/api/v1/persons", params={"name": "Kari\u200bmov"}, headers=officer)
        _refused(r, "query.name", "zero_width_character")
        r = await h.client.post("/api/v1/persons", json={**person, "family_name": PERSIAN_WITH_ZWNJ},
                                headers={**officer, "Idempotency-Key": "plain-text-3"})
        assert r.status_code == 201, r.text
        assert "\\u200c" not in r.text and "\u200c" not in r.text  # the Latin form carries no joiner


async def test_rsd_statelessness_and_bridge_refuse_them_too(tmp_path):
    for create, settings, role, path, body, field in [
        (create_rsd, RsdSettings, "eligibility-officer", "/api/v1/applications",
         {"members": [{"id": "m1", "person_id": "p1", "name": "Ka\u202erimov"}]}, "members.0.name"),
        (create_statelessness, StatelessnessSettings, "statelessness-officer", "/api/v1/cases",
         {"reason_note": "born \u2066abroad\u2069"}, "reason_note"),
        (create_bridge, BridgeSettings, "civil-registrar", "/api/v1/birth-verifications",
         {"child": {"surname": "Sultan\u202eova"}}, "child.surname"),
    ]:
        (tmp_path / settings.__name__).mkdir()
        async with service_harness(create, settings, tmp_path / settings.__name__) as h:
            r = await h.client.post(path, json=body, headers={**h.headers(role), "Idempotency-Key": "plain-text-x"})
            _refused(r, field, "bidi_control")
