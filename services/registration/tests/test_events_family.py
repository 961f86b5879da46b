"""Consumed rsd events per family member and per procedure, through the in-process harness: a fact
applies to the members an event names, a document ends only with its own procedure, death affects
only the deceased, a remitted appeal is still pending."""

from datetime import date

from pana_events.events import rsd
from pana_events.events import statelessness as sl

D = date(2026, 11, 2)


async def register(reg, key, **over):
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": ["AFG"], **over}
    r = await reg.client.post("/api/v1/persons", json=body,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": f"key-{key}-0001"})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def family(reg, prefix):
    principal = await register(reg, f"{prefix}-principal")
    spouse = await register(reg, f"{prefix}-spouse", given_name="Malika", birth_date="1992-02-01", sex="female")
    child = await register(reg, f"{prefix}-child", given_name="Timur", birth_date="2018-06-01")
    return principal, spouse, child


async def status_of(reg, pid):
    r = await reg.client.get(f"/api/v1/persons/{pid}", headers=reg.headers("registration-officer"))
    return r.json()["legal_status"]


async def issued(reg, pid=None, kind=None):
    return [e["data"] for e in await reg.published("registration.document.issued.v1")
            if (pid is None or e["data"]["person_id"] == pid) and (kind is None or e["data"]["kind"] == kind)]


async def revoked_ids(reg):
    return {e["data"]["document_id"] for e in await reg.published("registration.document.revoked.v1")}


async def verify(reg, number, birth_date):
    r = await reg.client.get(f"/api/v1/verify/{number}", params={"birth_date": birth_date},
                             headers=reg.headers("service-provider", purpose=None))
    assert r.status_code == 200, r.text
    return r.json()["result"]


async def test_cessation_for_the_spouse_alone_leaves_the_principal_a_refugee(reg):
    principal, spouse, _ = await family(reg, "f1")
    await reg.deliver(rsd.DecisionIssued(application_id="a-1", person_id=principal, member_ids=[principal, spouse],
                                         outcome="recognised", decided_on=D), subject=principal)
    assert [await status_of(reg, p) for p in (principal, spouse)] == ["refugee", "refugee"]
    await reg.deliver(rsd.StatusEnded(application_id="a-1", person_id=principal, member_ids=[spouse],
                                      ending="cessation", ground="re_availment", ended_on=date(2026, 11, 20)),
                      subject=principal)
    assert await status_of(reg, principal) == "refugee"
    assert await status_of(reg, spouse) == "former_refugee"
    [principal_cert] = await issued(reg, principal)
    [spouse_cert] = await issued(reg, spouse)
    assert await revoked_ids(reg) == {spouse_cert["document_id"]}
    assert await verify(reg, principal_cert["number"], "1990-04-12") in ("valid", "expired")


async def test_decision_for_some_members_only(reg):
    principal, spouse, _ = await family(reg, "f2")
    await reg.deliver(rsd.DecisionIssued(application_id="a-2", person_id=principal, member_ids=[spouse],
                                         outcome="recognised", decided_on=D), subject=principal)
    assert await status_of(reg, spouse) == "refugee"
    assert await status_of(reg, principal) is None or await status_of(reg, principal) == "none"


async def test_remitted_appeal_keeps_the_asylum_seeker_and_the_certificate(reg):
    pid = await register(reg, "r-1")
    await reg.deliver(rsd.CertificateRequested(application_id="a-3", person_id=pid, member_ids=[pid], valid_from=D,
                                               valid_until=date(2027, 2, 2), reason="registration"), subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-3", person_id=pid, member_ids=[pid], outcome="rejected",
                                         decided_on=date(2026, 11, 10)), subject=pid)
    await reg.deliver(rsd.AppealLodged(application_id="a-3", person_id=pid, lodged_on=date(2026, 11, 12)), subject=pid)
    await reg.deliver(rsd.AppealDecided(application_id="a-3", person_id=pid, member_ids=[pid], outcome="dismissed",
                                        result="remitted", decided_on=date(2026, 11, 20)), subject=pid)
    assert await status_of(reg, pid) == "asylum_seeker"
    assert await reg.published("registration.document.revoked.v1") == []
    # the case decided again at first instance and a second appeal rejected: now final
    await reg.deliver(rsd.AppealDecided(application_id="a-3", person_id=pid, member_ids=[pid], outcome="dismissed",
                                        result="rejected", decided_on=date(2026, 11, 28)), subject=pid)
    assert await status_of(reg, pid) == "rejected_asylum_seeker"
    assert len(await revoked_ids(reg)) == 1


async def test_appeal_allowed_by_result_recognises(reg):
    pid = await register(reg, "r-2")
    await reg.deliver(rsd.AppealDecided(application_id="a-4", person_id=pid, member_ids=[pid], outcome="upheld",
                                        result="allowed", decided_on=D), subject=pid)
    assert await status_of(reg, pid) == "refugee"


async def test_asylum_claim_keeps_a_stateless_persons_certificate(reg):
    pid = await register(reg, "s-1", citizenship=[], citizenship_status="none")
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-1", person_id=pid, outcome="stateless",
                                                 decided_on=date(2026, 10, 1)), subject=pid)
    await reg.deliver(rsd.CertificateRequested(application_id="a-5", person_id=pid, member_ids=[pid], valid_from=D,
                                               valid_until=date(2027, 2, 2), reason="registration"), subject=pid)
    assert await status_of(reg, pid) == "asylum_seeker"
    assert await reg.published("registration.document.revoked.v1") == []
    sp, = await issued(reg, pid, "stateless_person_certificate")
    asc, = await issued(reg, pid, "asylum_seeker_certificate")
    # the asylum claim fails: the asylum-seeker certificate ends, the stateless person's stays
    await reg.deliver(rsd.ApplicationClosed(application_id="a-5", person_id=pid, member_ids=[pid], reason="withdrawal",
                                            closed_on=date(2026, 11, 20)), subject=pid)
    assert await status_of(reg, pid) == "stateless"
    assert await revoked_ids(reg) == {asc["document_id"]}
    assert sp["valid_until"] > "2030-01-01"


async def test_death_of_the_principal_affects_only_the_deceased(reg):
    principal, spouse, child = await family(reg, "f3")
    members = [principal, spouse, child]
    await reg.deliver(rsd.ApplicationLodged(application_id="a-6", person_id=principal, member_ids=members,
                                            lodged_on=D, registered_on=D, decision_due=date(2027, 5, 2)),
                      subject=principal)
    for holder, kids in ((principal, [child]), (spouse, [])):
        await reg.deliver(rsd.CertificateRequested(application_id="a-6", person_id=holder, member_ids=[holder, *kids],
                                                   valid_from=D, valid_until=date(2027, 2, 2), reason="registration"),
                          subject=principal)
    assert [await status_of(reg, p) for p in members] == ["asylum_seeker"] * 3
    await reg.deliver(rsd.ApplicationClosed(application_id="a-6", person_id=principal, member_ids=members,
                                            reason="death", closed_on=date(2026, 11, 20)), subject=principal)
    assert await status_of(reg, principal) == "deceased"
    assert await status_of(reg, spouse) == "asylum_seeker" and await status_of(reg, child) == "asylum_seeker"
    [principal_cert] = await issued(reg, principal)
    [spouse_cert] = await issued(reg, spouse)
    assert await revoked_ids(reg) == {principal_cert["document_id"]}
    assert await verify(reg, spouse_cert["number"], "1992-02-01") in ("valid", "expired")
    statuses = [(e["data"]["person_id"], e["data"]["status"])
                for e in await reg.published("registration.legal_status.changed.v1")]
    assert (principal, "deceased") in statuses and not any(s == "former_asylum_seeker" for _, s in statuses)


async def test_closure_without_appeal_makes_the_rejection_final(reg):
    pid = await register(reg, "c-1")
    await reg.deliver(rsd.DecisionIssued(application_id="a-7", person_id=pid, member_ids=[pid], outcome="rejected",
                                         decided_on=D), subject=pid)
    await reg.deliver(rsd.ApplicationClosed(application_id="a-7", person_id=pid, member_ids=[pid], reason="no_appeal",
                                            closed_on=date(2026, 12, 2)), subject=pid)
    assert await status_of(reg, pid) == "rejected_asylum_seeker"


async def test_unaccompanied_child_gets_their_own_certificate_without_the_need_recorded(reg):
    child = await register(reg, "u-1", given_name="Timur", birth_date="2012-03-01")
    sibling = await register(reg, "u-2", given_name="Leyla", birth_date="2015-03-01", sex="female")
    await reg.deliver(rsd.CertificateRequested(application_id="a-8", person_id=child, member_ids=[child, sibling],
                                               valid_from=D, valid_until=date(2027, 2, 2), reason="registration"),
                      subject=child)
    [cert] = await issued(reg, child)
    assert cert["kind"] == "asylum_seeker_certificate"


async def test_a_minor_with_an_adult_in_the_request_gets_no_certificate_of_their_own(reg):
    child = await register(reg, "u-3", given_name="Timur", birth_date="2012-03-01")
    mother = await register(reg, "u-4", given_name="Malika", birth_date="1985-03-01", sex="female")
    await reg.deliver(rsd.CertificateRequested(application_id="a-9", person_id=child, member_ids=[child, mother],
                                               valid_from=D, valid_until=date(2027, 2, 2), reason="registration"),
                      subject=child)
    assert await issued(reg, child) == []


async def test_certificate_expiry_is_rsds_valid_until(reg):
    pid = await register(reg, "e-1")
    await reg.deliver(rsd.CertificateRequested(application_id="a-10", person_id=pid, member_ids=[pid], valid_from=D,
                                               valid_until=date(2027, 2, 2), reason="registration"), subject=pid)
    [first] = await issued(reg, pid)
    assert first["valid_until"] == "2027-02-02"
    await reg.deliver(rsd.CertificateRequested(application_id="a-10", person_id=pid, member_ids=[pid],
                                               valid_from=date(2027, 1, 20), valid_until=date(2027, 4, 20),
                                               reason="extension"), subject=pid)
    extended = (await issued(reg, pid))[-1]
    assert extended["valid_until"] == "2027-04-20" and extended["number"] != first["number"]


async def test_appeal_against_an_ending(reg):
    pid = await register(reg, "x-1")
    await reg.deliver(rsd.DecisionIssued(application_id="a-11", person_id=pid, member_ids=[pid], outcome="recognised",
                                         decided_on=D), subject=pid)
    await reg.deliver(rsd.StatusEnded(application_id="a-11", person_id=pid, member_ids=[pid], ending="revocation",
                                      ground="fraud", ended_on=date(2026, 11, 10)), subject=pid)
    await reg.deliver(rsd.AppealDecided(application_id="a-11", person_id=pid, member_ids=[pid], outcome="dismissed",
                                        result="rejected", against="ending", decided_on=date(2026, 11, 15)), subject=pid)
    assert await status_of(reg, pid) == "former_refugee"  # not a rejected asylum-seeker
    await reg.deliver(rsd.AppealDecided(application_id="a-11", person_id=pid, member_ids=[pid], outcome="upheld",
                                        result="allowed", against="ending", decided_on=date(2026, 11, 25)), subject=pid)
    assert await status_of(reg, pid) == "refugee"
    first, second = await issued(reg, pid)
    assert await revoked_ids(reg) == {first["document_id"]} and second["kind"] == "refugee_certificate"


async def test_death_of_a_member_named_alone_while_the_claim_goes_on(reg):
    principal, spouse, child = await family(reg, "f4")
    members = [principal, spouse, child]
    await reg.deliver(rsd.ApplicationLodged(application_id="a-12", person_id=principal, member_ids=members,
                                            lodged_on=D, registered_on=D, decision_due=date(2027, 5, 2)),
                      subject=principal)
    await reg.deliver(rsd.ApplicationClosed(application_id="a-12", person_id=principal, member_ids=[spouse],
                                            reason="death", closed_on=date(2026, 11, 20)), subject=principal)
    assert [await status_of(reg, p) for p in members] == ["asylum_seeker", "deceased", "asylum_seeker"]
    # later the claim is decided for those who remain
    await reg.deliver(rsd.DecisionIssued(application_id="a-12", person_id=principal, member_ids=[principal, child],
                                         outcome="recognised", decided_on=date(2026, 12, 1)), subject=principal)
    assert [await status_of(reg, p) for p in members] == ["refugee", "deceased", "refugee"]


async def test_status_restored_on_appeal_can_end_again(reg):
    pid = await register(reg, "x-2")
    await reg.deliver(rsd.DecisionIssued(application_id="a-13", person_id=pid, member_ids=[pid], outcome="recognised",
                                         decided_on=D), subject=pid)
    for ended_on, restored_on in ((date(2026, 11, 10), date(2026, 11, 20)), (date(2026, 12, 1), None)):
        await reg.deliver(rsd.StatusEnded(application_id="a-13", person_id=pid, member_ids=[pid], ending="cessation",
                                          ground="re_availment", ended_on=ended_on), subject=pid)
        assert await status_of(reg, pid) == "former_refugee"
        if restored_on:
            await reg.deliver(rsd.AppealDecided(application_id="a-13", person_id=pid, member_ids=[pid],
                                                outcome="upheld", result="allowed", against="ending",
                                                decided_on=restored_on), subject=pid)
            assert await status_of(reg, pid) == "refugee"
    assert len(await revoked_ids(reg)) == 2


async def test_nothing_is_issued_to_the_deceased(reg):
    pid = await register(reg, "d-1")
    await reg.deliver(rsd.ApplicationClosed(application_id="a-14", person_id=pid, member_ids=[pid], reason="death",
                                            closed_on=D), subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-14", person_id=pid, member_ids=[pid], outcome="recognised",
                                         decided_on=date(2026, 11, 20)), subject=pid)
    assert await status_of(reg, pid) == "deceased"
    assert await issued(reg, pid) == []


async def test_appeal_decided_v2_applies_its_result_to_every_member_it_names(reg):
    """rsd.appeal.decided.v2 (issue 13): a remittal keeps the whole family asylum-seekers, a rejection is final
    for every member (v1 named nobody on a rejection), an allowed appeal recognises those it was allowed for and
    the member it was not allowed for is finally rejected. v1 delivered beside it changes nothing more."""
    principal, spouse, child = await family(reg, "v2")
    members = [principal, spouse, child]
    await reg.deliver(rsd.CertificateRequested(application_id="a-v2", person_id=principal, member_ids=members,
                                               valid_from=D, valid_until=date(2027, 2, 2), reason="registration"),
                      subject=principal)
    await reg.deliver(rsd.AppealDecidedV2(application_id="a-v2", person_id=principal, appeal_id="ap-1",
                                          against="decision", result="remitted", member_ids=members,
                                          decided_on=date(2026, 11, 20)), subject=principal)
    assert [await status_of(reg, p) for p in members] == ["asylum_seeker"] * 3
    await reg.deliver(rsd.AppealDecidedV2(application_id="a-v2", person_id=principal, appeal_id="ap-2",
                                          against="decision", result="allowed", member_ids=members,
                                          allowed_member_ids=[principal, child], decided_on=date(2026, 12, 20)),
                      subject=principal)
    await reg.deliver(rsd.AppealDecided(application_id="a-v2", person_id=principal, member_ids=[principal, child],
                                        outcome="upheld", result="allowed", against="decision",
                                        decided_on=date(2026, 12, 20)), subject=principal)
    assert [await status_of(reg, p) for p in members] == ["refugee", "rejected_asylum_seeker", "refugee"]
    assert {d["person_id"] for d in await issued(reg, kind="refugee_certificate")} == {principal, child}

    # another family: since #16 one name replaced (Aziz Karimov, Aziz Rahimi, one birth date) is a likely duplicate
    other = await register(reg, "v2r-principal", family_name="Rahimi", birth_date="1987-07-30")
    other_spouse = await register(reg, "v2r-spouse", given_name="Malika", family_name="Rahimi", sex="female")
    await reg.deliver(rsd.AppealDecidedV2(application_id="a-v2r", person_id=other, appeal_id="ap-3",
                                          against="decision", result="rejected", member_ids=[other, other_spouse],
                                          decided_on=D), subject=other)
    assert [await status_of(reg, p) for p in (other, other_spouse)] == ["rejected_asylum_seeker"] * 2


async def test_a_rejected_statelessness_appeal_is_final_and_a_remittal_pending_again(reg):
    pid = await register(reg, "sa-1", citizenship=[], citizenship_status="none")
    await reg.deliver(sl.CaseOpened(case_id="c-sa", person_id=pid, reason="application", ex_officio=False,
                                    opened_on=date(2026, 1, 5)), subject=pid)
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-sa", person_id=pid, outcome="not_stateless",
                                                 nationality="UZB", decided_on=date(2026, 6, 1),
                                                 stage="first_instance"), subject=pid)
    await reg.deliver(sl.AppealDecided(case_id="c-sa", person_id=pid, appeal_id="ap", result="remitted",
                                       decided_on=date(2026, 8, 1)), subject=pid)
    assert await status_of(reg, pid) == "stateless_applicant"
    await reg.deliver(sl.AppealDecided(case_id="c-sa", person_id=pid, appeal_id="ap2", result="rejected",
                                       decided_on=date(2026, 10, 1)), subject=pid)
    assert await status_of(reg, pid) == "not_stateless"
