"""Issue 18: a case reference a person can quote (`RSD-<year>-<number>`), given once and never changed; the
applications stored before get theirs from migration 0009, in the order they were lodged."""

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from api_flows import Api, harness, lodged_id
from pana_kit.migrations import packaged_migrations, upgrade

MIGRATIONS = packaged_migrations("rsd")


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


async def test_references_run_per_lodging_year_and_never_change(api):
    first = await lodged_id(api)
    second = await lodged_id(api, principal={"id": "m1", "person_id": "p-2", "relationship": "principal"})
    earlier = await lodged_id(api, principal={"id": "m1", "person_id": "p-3", "relationship": "principal"},
                              lodged_on="2025-12-30", arrived_on="2025-12-29", register_on="2025-12-30")
    refs = {i: (await api.get(i)).json()["reference"] for i in (first, second, earlier)}
    assert refs == {first: "RSD-2026-000001", second: "RSD-2026-000002", earlier: "RSD-2025-000001"}
    r = await api.step(first, "fingerprinting", {"fingerprinted_on": "2026-01-11"})
    assert r.status_code == 200 and r.json()["reference"] == "RSD-2026-000001"  # a change keeps it
    listed = (await api.h.client.get("/api/v1/applications", headers=api.headers())).json()["items"]
    assert {i["id"]: i["reference"] for i in listed} == refs


def test_migration_0009_gives_stored_applications_their_references_in_lodging_order(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url, "0011")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rsd.db'}")
    now = datetime.now(timezone.utc)
    stored = [("a-late", "2026-03-01", now), ("a-first", "2026-01-05", now + timedelta(seconds=5)),
              ("a-same-day", "2026-01-05", now + timedelta(seconds=9)), ("a-2025", "2025-11-20", now)]
    with engine.begin() as c:
        for app_id, lodged_on, created in stored:
            c.execute(sa.text("INSERT INTO applications (id, person_id, office, status, priority, lodged_on, version, "
                              "document, created_at, updated_at) VALUES (:id, 'p-1', 'almaty', 'registered', 0, :lodged, "
                              "1, :doc, :created, :created)"),
                      {"id": app_id, "lodged": lodged_on, "doc": json.dumps({"members": []}), "created": created})
    upgrade(MIGRATIONS, url, "0012")
    with engine.begin() as c:
        refs = dict(c.execute(sa.text("SELECT id, reference FROM applications")).all())
        counters = dict(c.execute(sa.text("SELECT year, last FROM case_references")).all())
    assert refs == {"a-first": "RSD-2026-000001", "a-same-day": "RSD-2026-000002", "a-late": "RSD-2026-000003",
                    "a-2025": "RSD-2025-000001"}
    assert counters == {2025: 1, 2026: 3}  # the next lodging of 2026 gets RSD-2026-000004


async def test_lodgings_at_the_same_moment_get_distinct_numbers_without_gaps(api):
    import asyncio

    ids = await asyncio.gather(*(lodged_id(api, principal={"id": "m1", "person_id": f"p-{i}", "relationship": "principal"})
                                 for i in range(6)))
    refs = sorted([(await api.get(i)).json()["reference"] for i in ids])
    assert refs == [f"RSD-2026-{n:06d}" for n in range(1, 7)]
