"""Issue 15 (known gap): rsd's `applicants` projection (names, sex, birth date, citizenship, specific needs from
registration's events) was stored in clear. Now one sealed document per applicant, each field bound to
(rsd, applicant, person id, field); plain text and moved ciphertexts are refused on read; rows stored before are
moved by migration 0007 and sealed at start-up, idempotently."""

import json
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from api_flows import harness
from pana_events.events import registration as reg
from pana_kit.crypto import DecryptionError, upgrade_sealed_rows
from pana_kit.migrations import packaged_migrations, upgrade
from rsd.store.repository import Applicants
from rsd.store.tables import ApplicantRow
from sqlalchemy import text

PERSONAL = ("Aziz", "Karimov", "1990-04-12", "AFG", "survivor_of_torture")


def _person(person_id="p-1"):
    return reg.PersonRegistered(person_id=person_id, registration_number="KZR-26-1", given_name="Aziz",
                                family_name="Karimov", birth_date=date(1990, 4, 12), sex="male", citizenship=["AFG"],
                                specific_needs=["survivor_of_torture"], registered_at=datetime.now(timezone.utc))


async def _raw(h, person_id="p-1") -> dict:
    async with h.app.state.db.session() as session:
        doc = (await session.execute(text("SELECT document FROM applicants WHERE person_id = :p"),
                                     {"p": person_id})).scalar_one()
    return json.loads(doc) if isinstance(doc, str) else doc


async def _write_raw(h, doc: dict, person_id="p-1") -> None:
    async with h.app.state.db.transaction() as session:
        await session.execute(text("UPDATE applicants SET document = :d WHERE person_id = :p"),
                              {"d": json.dumps(doc), "p": person_id})


async def _get(h, person_id="p-1"):
    async with h.app.state.db.session() as session:
        return await Applicants(session).get(person_id)


async def test_an_applicant_is_stored_sealed_and_read_back(tmp_path):
    async with harness(tmp_path) as h:
        assert (await h.deliver(_person(), subject="p-1")).name == "handled"
        stored = json.dumps(await _raw(h))
        assert not [value for value in PERSONAL if value in stored]
        applicant = await _get(h)
        assert (applicant.given_name, applicant.family_name, applicant.sex, applicant.birth_date) == (
            "Aziz", "Karimov", "male", date(1990, 4, 12))
        assert applicant.citizenship == ("AFG",) and applicant.specific_needs == ("survivor_of_torture",)

        changed = reg.SpecificNeedsChanged(person_id="p-1", specific_needs=["woman_at_risk"],
                                           changed_on=date(2026, 11, 2))
        assert (await h.deliver(changed, subject="p-1")).name == "handled"
        assert (await _get(h)).specific_needs == ("woman_at_risk",)
        assert (await _get(h)).given_name == "Aziz"
        assert "woman_at_risk" not in json.dumps(await _raw(h))


async def test_plain_text_and_moved_ciphertexts_are_refused(tmp_path):
    async with harness(tmp_path) as h:
        await h.deliver(_person(), subject="p-1")
        await h.deliver(_person("p-2"), subject="p-2")
        sealed, other = await _raw(h), await _raw(h, "p-2")
        clear = {"person_id": "p-1", "given_name": "Aziz", "family_name": "Karimov", "sex": "male",
                 "birth_date": "1990-04-12", "citizenship": ["AFG"], "specific_needs": []}
        for tampered in ({**clear, "_sealed": 1},  # plain text under the mark
                         {**sealed, "given_name": json.dumps("Aziz")},  # one field in clear
                         {**sealed, "given_name": sealed["family_name"]},  # another field's ciphertext
                         {**sealed, "specific_needs": other["specific_needs"]}):  # another person's ciphertext
            await _write_raw(h, tampered)
            with pytest.raises(DecryptionError):
                await _get(h)


async def test_applicants_stored_before_are_moved_and_sealed_at_start_up(tmp_path):
    db_file = tmp_path / "service.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    migrations = packaged_migrations("rsd")
    upgrade(migrations, url, "0006")
    engine = sa.create_engine(f"sqlite:///{db_file}")
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO applicants (person_id, given_name, family_name, sex, birth_date, citizenship, "
                          "specific_needs, updated_at) VALUES ('p-old', 'Aziz', 'Karimov', 'male', '1990-04-12', "
                          "'[\"AFG\"]', '[\"survivor_of_torture\"]', :now)"), {"now": datetime.now(timezone.utc)})
    engine.dispose()
    async with harness(tmp_path, database_url=url) as h:  # migrates to head, then seals before serving
        stored = json.dumps(await _raw(h, "p-old"))
        assert not [value for value in PERSONAL if value in stored]
        applicant = await _get(h, "p-old")
        assert (applicant.given_name, applicant.birth_date, applicant.specific_needs) == (
            "Aziz", date(1990, 4, 12), ("survivor_of_torture",))
        async with h.app.state.db.transaction() as session:  # idempotent: a sealed row is left alone
            assert await upgrade_sealed_rows(session, ApplicantRow.__table__, id_column="person_id",
                                             column="document") == 0
        assert json.dumps(await _raw(h, "p-old")) == stored
