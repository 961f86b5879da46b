"""Issue 15: registration stored everything in clear (the border statement, specific needs, ethnicity, contacts,
addresses). Now each of those is a ciphertext bound to (registration, aggregate, id, field); the specific-needs
filter uses a keyed blind index; plain text where a ciphertext belongs is refused; records stored before are
sealed at start-up and still load and filter the same."""

import json

import pytest
from pana_kit.crypto import DecryptionError
from registration.store.repository import upgrade_sealed
from registration.store.tables import PersonRow
from sqlalchemy import JSON, select, text, type_coerce

def _old_documents() -> dict:
    """The documents an earlier version stored (test_stored_documents.OLD)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_stored_documents", Path(__file__).with_name("test_stored_documents.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OLD


OLD = _old_documents()

PERSON = {"given_name": "Мухаммад", "family_name": "Каримов", "birth_date": "1974-08-12", "sex": "male",
          "citizenship": ["AFG"], "country_of_origin": "AFG", "ethnicity": "Hazara",
          "address": {"region": "Almaty", "street": "Abay 17"}, "contacts": [{"kind": "phone", "value": "+7 701 555 0101"}],
          "specific_needs": ["survivor_of_sgbv"]}
CLEAR = ("Hazara", "Abay 17", "555 0101", "survivor_of_sgbv", "Taliban took my brother")


async def stored(reg, table: str, key: str, ident: str) -> dict:
    """The row as it is in the database (not through the sealing column type)."""
    async with reg.app.state.db.session() as session:
        row = (await session.execute(text(f"SELECT * FROM {table} WHERE {key} = :i"), {"i": ident})).mappings().one()
    return dict(row)


async def write_raw(reg, table: str, key: str, ident: str, document: dict, **columns) -> None:
    sets = ", ".join(["document = :doc", *(f"{c} = :{c}" for c in columns)])
    async with reg.app.state.db.transaction() as session:
        await session.execute(text(f"UPDATE {table} SET {sets} WHERE {key} = :i"),
                              {"doc": json.dumps(document), "i": ident, **columns})


async def register(reg) -> str:
    r = await reg.client.post("/api/v1/persons", json=PERSON,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": "enc-00000001"})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def search_need(reg, need: str) -> list[str]:
    # A supervisor: filtering by a sensitive need (SGBV, torture) needs their scope.
    r = await reg.client.get("/api/v1/persons", params={"specific_need": need}, headers=reg.headers("supervisor"))
    assert r.status_code == 200, r.text
    return [p["person_id"] for p in r.json()["items"]]


async def test_personal_fields_and_the_border_statement_are_not_stored_in_clear(reg):
    person_id = await register(reg)
    row = await stored(reg, "persons", "person_id", person_id)
    raw = json.dumps(row, default=str)
    for clear in CLEAR[:4]:
        assert clear not in raw, clear
    assert row["specific_needs"].startswith("|") and "sgbv" not in row["specific_needs"]
    # still read and filtered as before
    got = (await reg.client.get(f"/api/v1/persons/{person_id}", headers=reg.headers("registration-officer"))).json()
    assert (got["ethnicity"], got["address"]["street"], got["specific_needs"]) == ("Hazara", "Abay 17", ["survivor_of_sgbv"])
    assert await search_need(reg, "survivor_of_sgbv") == [person_id]
    assert await search_need(reg, "survivor_of_torture") == []

    r = await reg.client.post("/api/v1/border-referrals", headers={**reg.headers("border-officer"), "Idempotency-Key": "enc-ref-1"},
                              json={"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
                                    "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs", "intent": "asylum",
                                    "statement": "Taliban took my brother", "specific_needs": ["survivor_of_torture"]})
    assert r.status_code == 201, r.text
    referral = await stored(reg, "border_referrals", "referral_id", r.json()["referral_id"])
    assert "Taliban" not in json.dumps(referral, default=str) and "survivor_of_torture" not in json.dumps(referral, default=str)


async def test_ciphertexts_cannot_be_swapped_and_plain_text_is_refused(reg):
    person_id = await register(reg)
    sealed = json.loads(row["document"]) if isinstance((row := await stored(reg, "persons", "person_id", person_id))["document"], str) \
        else row["document"]
    other_id = (await reg.client.post("/api/v1/persons", json={**PERSON, "given_name": "Омид", "ethnicity": "Tajik"},
                                      headers={**reg.headers("registration-officer"), "Idempotency-Key": "enc-00000002"})).json()["person_id"]
    other_row = await stored(reg, "persons", "person_id", other_id)
    other = json.loads(other_row["document"]) if isinstance(other_row["document"], str) else other_row["document"]
    for tampered in ({**sealed, "address": sealed["ethnicity"]},  # another field's ciphertext
                     {**sealed, "ethnicity": other["ethnicity"]},  # another person's ciphertext of the same field
                     {**sealed, "ethnicity": json.dumps("Pashtun")},  # plain text where a ciphertext belongs
                     {k: v for k, v in sealed.items() if k != "_sealed"}):  # the mark removed: not sealed
        await write_raw(reg, "persons", "person_id", person_id, tampered)
        async with reg.app.state.db.session() as session:
            with pytest.raises(DecryptionError):
                await session.get(PersonRow, person_id)


async def test_records_stored_in_clear_are_sealed_at_start_up_and_still_filter(reg):
    person_id = await register(reg)
    old = {**OLD["person"], "person_id": person_id}
    await write_raw(reg, "persons", "person_id", person_id, old, specific_needs="|disability|survivor_of_torture|")
    async with reg.app.state.db.transaction() as session:
        assert await upgrade_sealed(session) == 1
        assert await upgrade_sealed(session) == 0  # idempotent
    row = await stored(reg, "persons", "person_id", person_id)
    assert "Tajik" not in json.dumps(row, default=str) and "torture" not in row["specific_needs"]
    got = (await reg.client.get(f"/api/v1/persons/{person_id}", headers=reg.headers("registration-officer"))).json()
    assert got["ethnicity"] == "Tajik" and sorted(got["specific_needs"]) == ["disability", "survivor_of_torture"]
    assert await search_need(reg, "survivor_of_torture") == [person_id]
    async with reg.app.state.db.session() as session:  # the history's old values are sealed too, and read back
        raw = (await session.execute(select(type_coerce(PersonRow.document, JSON)))).scalars().one()
        assert raw["history"][1]["previous"]["ethnicity"].startswith("v1.")
