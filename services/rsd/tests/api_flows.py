"""Helpers for the rsd API tests: a harness with its own keyring, and steps through the procedure."""

from __future__ import annotations

import itertools

from pana_dev.testing import service_harness
from rsd.app import create
from rsd.settings import RsdSettings

_keys = itertools.count()


def harness(tmp_path, **overrides):
    return service_harness(create, RsdSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json"), **overrides)


OFFICER = dict(role="eligibility-officer", subject="eo-1")
SUPERVISOR = dict(role="supervisor", subject="sup-1")
SUPERVISOR_2 = dict(role="supervisor", subject="sup-2")


class Api:
    def __init__(self, h):
        self.h = h

    def headers(self, who=OFFICER, *, office="almaty", etag=None, key=None, purpose="case-work"):
        claims = {k: v for k, v in who.items() if k not in ("role", "subject")}  # e.g. the officer's `name`
        headers = self.h.headers(who["role"], subject=who["subject"], office=office, purpose=purpose, **claims)
        if etag:
            headers["If-Match"] = etag
        if key:
            headers["Idempotency-Key"] = key
        return headers

    async def lodge(self, who=OFFICER, **body):
        payload = dict(principal={"id": "m1", "person_id": "p-1", "relationship": "principal", "sex": "female",
                                  "birth_date": "1990-05-01"},
                       lodged_on="2026-01-08", arrived_on="2026-01-06", manner_of_arrival="regular",
                       register_on="2026-01-10", officer_id="eo-1", narrative="I was detained for my writing.")
        payload.update(body)
        return await self.h.client.post("/api/v1/applications", json=payload,
                                        headers=self.headers(who, key=f"lodge-key-{next(_keys):06d}"))

    async def get(self, app_id, who=OFFICER, office="almaty"):
        return await self.h.client.get(f"/api/v1/applications/{app_id}", headers=self.headers(who, office=office))

    async def step(self, app_id, path, body, who=OFFICER, etag=None, office="almaty"):
        if etag is None:
            etag = (await self.get(app_id, who, office)).headers.get("ETag")
        return await self.h.client.post(f"/api/v1/applications/{app_id}/{path}", json=body,
                                        headers=self.headers(who, etag=etag, office=office))


INTERVIEW = {"member_id": "m1", "scheduled_on": "2026-02-02", "interviewer_id": "eo-1", "interviewer_sex": "female",
             "interpreter": {"id": "int-1", "language": "prs", "dialect": "kabuli", "sex": "female"}}
MEETS = {"member_id": "m1", "assessed_on": "2026-02-10", "outside_country": True, "well_founded_fear": True,
         "persecution": True, "nexus_grounds": ["political_opinion"], "no_state_protection": True,
         "credibility": [{"material_fact": "detention", "accepted": True}], "notes": "Consistent and detailed."}
FAILS = {**MEETS, "persecution": False, "notes": "Harm does not reach persecution."}


async def lodged_id(api: Api, **body) -> str:
    r = await api.lodge(**body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def interviewed(api: Api, **body) -> str:
    app_id = await lodged_id(api, **body)
    r = await api.step(app_id, "interviews", INTERVIEW)
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "interviews/i1/record", {"held_on": "2026-02-02", "record": "Q: why? A: ..."})
    assert r.status_code == 200, r.text
    return app_id


async def decided(api: Api, outcome="rejected", notify=True) -> str:
    app_id = await interviewed(api)
    assert (await api.step(app_id, "assessments", FAILS if outcome == "rejected" else MEETS)).status_code == 200
    reasons = ["harm_not_persecution"] if outcome == "rejected" else []
    r = await api.step(app_id, "recommendation", {"outcome": outcome, "rejection_reasons": reasons, "on": "2026-02-20"})
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "decision", {"on": "2026-03-01"}, who=SUPERVISOR)
    assert r.status_code == 200, r.text
    if notify:
        r = await api.step(app_id, "notification", {"served_on": "2026-03-03", "language": "prs"})
        assert r.status_code == 200, r.text
    return app_id
