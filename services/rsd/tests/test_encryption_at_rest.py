"""Issue 15: an application's members (their specific needs; names of members added later) and contact notes were
stored in clear in its document. Now sealed, bound to (rsd, application, id, field); plain text is refused;
applications stored before are sealed at start-up and read the same."""

import json

import pytest
from api_flows import Api, harness, lodged_id
from pana_kit.crypto import DecryptionError, upgrade_sealed_rows
from rsd.store.tables import ApplicationRow
from sqlalchemy import text


async def raw_document(h, app_id: str) -> dict:
    async with h.app.state.db.session() as session:
        doc = (await session.execute(text("SELECT document FROM applications WHERE id = :i"), {"i": app_id})).scalar_one()
    return json.loads(doc) if isinstance(doc, str) else doc


async def write_raw(h, app_id: str, doc: dict) -> None:
    async with h.app.state.db.transaction() as session:
        await session.execute(text("UPDATE applications SET document = :d WHERE id = :i"), {"d": json.dumps(doc), "i": app_id})


async def test_members_are_sealed_plain_text_refused_and_old_applications_upgraded(tmp_path):
    async with harness(tmp_path) as h:
        api = Api(h)
        principal = {"id": "m1", "person_id": "p-1", "relationship": "principal", "sex": "female",
                     "birth_date": "1990-05-01", "specific_needs": ["woman_at_risk"]}
        app_id = await lodged_id(api, principal=principal)
        sealed = await raw_document(h, app_id)
        assert "woman_at_risk" not in json.dumps(sealed) and sealed["members"].startswith("v1.")
        assert (await api.get(app_id)).status_code == 200

        clear = {k: v for k, v in sealed.items() if k != "_sealed"}
        async with h.app.state.db.session() as session:
            opened = (await session.get(ApplicationRow, app_id)).document
        for tampered in ({**sealed, "members": json.dumps(opened["members"])},  # plain text where a ciphertext belongs
                         {**sealed, "contacts": sealed["members"]}):  # another field's ciphertext
            await write_raw(h, app_id, tampered)
            async with h.app.state.db.session() as session:
                with pytest.raises(DecryptionError):
                    await session.get(ApplicationRow, app_id)

        await write_raw(h, app_id, {**clear, **{k: opened[k] for k in ("members", "contacts") if k in opened}})  # as stored before
        async with h.app.state.db.transaction() as session:
            assert await upgrade_sealed_rows(session, ApplicationRow.__table__, id_column="id", column="document") == 1
        assert "woman_at_risk" not in json.dumps(await raw_document(h, app_id))
        r = await api.get(app_id)
        assert r.status_code == 200 and "woman_at_risk" in r.text
