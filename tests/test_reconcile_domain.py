"""`pana reconcile --domain` on three real services in process (real apps, real SQLite, no broker).

Events are handed from one service's outbox to another's consumer by the test, so it decides which
ones get lost: the checks must then name exactly the records that drifted apart, by id.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pana_dev.testing import service_harness
from pana_events import EVENT_TYPES
from pana_events.events import rsd as rsd_events
from pana_kit.domain_checks import run_domain_checks

from registration.app import create as create_registration
from registration.settings import RegistrationSettings
from rsd.app import create as create_rsd
from rsd.domain import Outcome
from rsd.settings import RsdSettings
from rsd.store.repository import Applications
from statelessness.app import create as create_statelessness
from statelessness.settings import StatelessnessSettings

sys.path.insert(0, str(Path(__file__).parents[1] / "services" / "rsd" / "tests"))
from rsd_flows import decided, principal  # noqa: E402  (the rsd domain tests' builders)

TODAY = datetime.now(timezone.utc).date()


async def refer(reg, n: int, birth_date: str = "1990-04-12") -> tuple[str, str]:
    r = await reg.client.post("/api/v1/border-referrals", headers={**reg.headers("border-officer"), "Idempotency-Key": f"border-{n:04d}"},
                              json={"given_name": f"Aziz{n}", "family_name": "Karimov", "birth_date": birth_date,
                                    "sex": "male", "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs",
                                    "intent": "asylum"})
    assert r.status_code == 201, r.text
    return r.json()["referral_id"], r.json()["person_id"]


async def hand_over(source, target, *, subject: str) -> None:
    """Deliver `source`'s outbox events about `subject` to `target`'s consumer, oldest first."""
    for event in await source.published():
        if event["subject"] == subject:
            model = EVENT_TYPES[event["type"]].model_validate(event["data"])
            await target.deliver(model, subject=subject, event_id=event["attributes"].get("id"))


async def test_the_domain_checks_name_exactly_the_records_that_drifted_apart(tmp_path):
    (tmp_path / "reg").mkdir(), (tmp_path / "rsd").mkdir(), (tmp_path / "sl").mkdir()
    async with (
        service_harness(create_registration, RegistrationSettings, tmp_path / "reg", signing_key_path=str(tmp_path / "signing.pem"),
                        stateless_certificate_watch_enabled=False) as reg,
        service_harness(create_rsd, RsdSettings, tmp_path / "rsd", keyring_file=str(tmp_path / "rsd-keyring.json")) as rsd,
        service_harness(create_statelessness, StatelessnessSettings, tmp_path / "sl",
                        keyring_file=str(tmp_path / "sl-keyring.json")) as sl,
    ):
        dbs = {"registration": reg.app.state.db, "rsd": rsd.app.state.db, "statelessness": sl.app.state.db}
        assert await run_domain_checks(dbs) == []

        # Two referrals registered; rsd hears of the first only.
        (lodged_ref, lodged_person), (lost_ref, lost_person) = await refer(reg, 1), await refer(reg, 2)
        await hand_over(reg, rsd, subject=lodged_person)
        async with rsd.app.state.db.session() as session:
            assert await Applications(session, rsd.app.state.rules).by_referral(lodged_ref) is not None

        # Two refugees in rsd; registration hears of the first one's recognition only.
        for n, person in ((1, lodged_person), (2, lost_person)):
            app = decided(Outcome.RECOGNISED, application_id=f"a-{n}", principal=principal(person_id=person), rules=rsd.app.state.rules)
            async with rsd.app.state.db.transaction() as session:
                await Applications(session, rsd.app.state.rules).add(app)
        await reg.deliver(rsd_events.DecisionIssued(application_id="a-1", person_id=lodged_person, member_ids=[lodged_person],
                                                    outcome="recognised", decided_on=TODAY - timedelta(days=1)),
                          subject=lodged_person)

        # A person recognised stateless in statelessness; registration never heard of it.
        stateless = await stateless_case(sl, lodged_person)

        findings = await run_domain_checks(dbs)
        assert [(f.check, f.ids) for f in findings] == [
            ("referral-without-application", {"referral_id": lost_ref, "person_id": lost_person}),
            ("refugee-without-certificate", {"person_id": lost_person, "application_id": "a-2"}),
            ("stateless-without-certificate", {"person_id": lodged_person, "case_id": stateless}),
        ]
        assert findings[1].detail == "no refugee_certificate"

        from prometheus_client import REGISTRY
        assert REGISTRY.get_sample_value("pana_reconcile_domain_findings", {"check": "referral-without-application"}) == 1


async def stateless_case(sl, person_id: str) -> str:
    h = sl.headers("statelessness-officer", subject="officer-a")
    r = await sl.client.post("/api/v1/cases", headers={**h, "Idempotency-Key": "case-0001"},
                             json={"person_id": person_id, "birth_date": "1990-04-12",
                                   "opened_on": (TODAY - timedelta(days=400)).isoformat()})
    assert r.status_code == 201, r.text
    case_id, etag = r.json()["id"], r.headers["ETag"]
    for path, body in (("interview", {"notes": "lived in Russia 2005-2019"}),
                       ("determination", {"outcome": "stateless", "reasons": "no state considers him a national"})):
        r = await sl.client.post(f"/api/v1/cases/{case_id}/{path}", json=body, headers={**h, "If-Match": etag})
        assert r.status_code == 200, r.text
        etag = r.headers["ETag"]
    assert r.json()["recognised_on"]
    return case_id
