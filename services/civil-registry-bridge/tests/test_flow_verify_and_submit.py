"""Flow (b) through the simulator: a birth recorded by registration is verified, or submitted and registered."""

from __future__ import annotations

import pytest
from bridge_support import Simulator, birth_recorded, bridge, from_record, items, settled

pytestmark = pytest.mark.asyncio


async def test_known_birth_is_verified_with_certificate_and_iin(tmp_path):
    sim = Simulator()
    record = sim.any_record()
    async with bridge(tmp_path, sim) as h:
        event = from_record(record)
        outcome = await h.deliver(event, subject=event.child_person_id)
        assert outcome.name == "handled"
        found = await settled(h, event.child_person_id)
        assert found["status"] == "verified"
        assert found["certificate_number"] == record.certificate_number and found["iin"] == record.child.iin
        [verified] = await h.published("civil_registry.birth.verified.v1")
        assert verified["subject"] == event.child_person_id
        assert verified["data"]["iin"] == record.child.iin
        assert (await sim.stats())["registrations"]["created"] == 0


async def test_missing_birth_to_stateless_mother_is_submitted_and_registered(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim) as h:
        event = birth_recorded(mother_status="stateless")
        await h.deliver(event, subject=event.child_person_id)
        done = await settled(h, event.child_person_id)
        assert done["status"] == "registered", done
        assert done["certificate_number"] and done["iin"] and done["submission_id"]
        types = [e["type"] for e in await h.published()]
        assert types == ["civil_registry.birth.not_found.v1", "civil_registry.birth_registration.submitted.v1",
                         "civil_registry.birth.registered.v1"]
        assert all("stateless" not in str(e["data"]) for e in await h.published())  # status never published
        assert (await sim.stats())["registrations"]["created"] == 1


async def test_same_child_twice_is_one_request(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim) as h:
        event = birth_recorded()
        await h.deliver(event, subject=event.child_person_id)
        await h.deliver(event, subject=event.child_person_id)  # another event id, same child
        await settled(h, event.child_person_id)
        assert len(await items(h, event.child_person_id)) == 1
        assert (await sim.stats())["registrations"]["created"] == 1


async def test_birth_abroad_is_not_submitted(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim) as h:
        event = birth_recorded(in_kz=False)
        await h.deliver(event, subject=event.child_person_id)
        done = await settled(h, event.child_person_id, "not_found")
        assert done["submission_id"] is None
        [nf] = await h.published("civil_registry.birth.not_found.v1")
        assert nf["data"]["will_submit"] is False
        assert (await sim.stats())["registrations"]["created"] == 0


async def test_registry_rejection_is_published(tmp_path):
    sim = Simulator()
    record = sim.any_record()
    async with bridge(tmp_path, sim) as h:
        # Not findable by the names (different child) but the medical certificate is already used: duplicate.
        event = birth_recorded(medical_birth_certificate_number=record.medical_birth_certificate_number)
        await h.deliver(event, subject=event.child_person_id)
        done = await settled(h, event.child_person_id)
        assert done["status"] == "rejected" and "duplicate_medical_birth_certificate" in done["reason"]
        [rej] = await h.published("civil_registry.birth_registration.rejected.v1")
        assert rej["data"]["submission_id"] == done["submission_id"]


async def test_impossible_birth_is_refused_and_nothing_written(tmp_path):
    from datetime import date

    from pana_kit.domain import DomainError

    sim = Simulator()
    async with bridge(tmp_path, sim) as h:
        event = birth_recorded(mother_birth_date=date.today())  # child born before the mother
        with pytest.raises(DomainError):
            await h.deliver(event, subject=event.child_person_id)
        assert await items(h, event.child_person_id) == []
        assert await h.published() == []
