"""Group border referrals (issue 13): a family travelling together is referred in one request; the group's
rules in the domain, the API's refusals (422 problem+json with the rule, nothing stored) and what rsd receives."""

from datetime import date

import pytest

from pana_kit.domain import InvalidInput
from registration.domain import GroupMember, GroupRelationship as R, RegistrationRules, check_group

RULES = RegistrationRules()


def member(rel, given, born, family="Karimov"):
    return GroupMember(R(rel), given, family, born)


FAMILY = [member("principal", "Aziz", date(1990, 4, 12)), member("spouse", "Malika", date(1992, 8, 1), "Karimova"),
          member("child", "Timur", date(2018, 3, 5)), member("other", "Bobur", date(1960, 1, 1))]


def test_a_family_passes():
    check_group(FAMILY, RULES)
    check_group(FAMILY[:1], RULES)  # a group of one is a group


@pytest.mark.parametrize("members, rule", [
    ([m for m in FAMILY if m.relationship is not R.PRINCIPAL], "one_principal"),
    ([*FAMILY, member("principal", "Other", date(1980, 1, 1))], "one_principal"),
    ([*FAMILY, member("child", "Timur", date(2018, 3, 5))], "duplicate_group_member"),
    ([*FAMILY, member("child", "TIMUR ", date(2018, 3, 5))], "duplicate_group_member"),  # folded names
    ([*FAMILY, member("child", "Zarina", date(1991, 1, 1))], "child_born_after_parents"),  # before the principal
    ([*FAMILY, member("child", "Zarina", date(1992, 8, 1))], "child_born_after_parents"),  # the spouse's birthday
    ([*FAMILY, *(member("child", f"Child{chr(65 + i)}", date(2019, 1, 1 + i)) for i in range(27))], "group_size_limit"),
])
def test_the_groups_rules_refuse(members, rule):
    with pytest.raises(InvalidInput) as refused:
        check_group(members, RULES)
    assert refused.value.rule == rule


def test_the_size_limit_is_a_rule_and_an_older_other_member_is_no_parent():
    check_group([*FAMILY, *(member("child", f"Child{chr(65 + i)}", date(2019, 1, 1 + i)) for i in range(26))], RULES)
    with pytest.raises(InvalidInput):
        check_group(FAMILY, RegistrationRules(group_referral_max_members=3))


# --- through the API -------------------------------------------------------------------

def body(*members, **over):
    return {"crossing_point": "Dostyk", "language": "prs", "intent": "asylum", "arrived_on": "2026-01-02",
            "members": list(members), **over}


def person(rel, given, born, sex="male", family="Karimov", **over):
    return {"relationship": rel, "given_name": given, "family_name": family, "birth_date": born, "sex": sex,
            "citizenship": "AFG", **over}


PRINCIPAL = person("principal", "Aziz", "1990-04-12")
SPOUSE = person("spouse", "Malika", "1992-08-01", sex="female", family="Karimova",
                specific_needs=["woman_at_risk"])
CHILD = person("child", "Timur", "2018-03-05")


async def post(reg, payload, key):
    return await reg.client.post("/api/v1/border-referrals/groups", json=payload,
                                 headers={**reg.headers("border-officer"), "Idempotency-Key": key})


async def test_a_family_is_registered_as_one_household_and_one_referral(reg):
    r = await post(reg, body(PRINCIPAL, SPOUSE, CHILD), "group-0001")
    assert r.status_code == 201, r.text
    out = r.json()
    ids = {m["relationship"]: m["person_id"] for m in out["members"]}
    assert out["person_id"] == ids["principal"] and r.headers["location"] == f"/api/v1/persons/{ids['principal']}"
    assert len(await reg.published("registration.person.registered.v1")) == 3
    [referral] = await reg.published("registration.referral.registered.v1")
    data = referral["data"]
    assert referral["subject"] == ids["principal"] and data["person_id"] == ids["principal"]
    assert data["arrived_on"] == "2026-01-02" and data["late"] is True
    assert [(m["person_id"], m["relationship"], m["birth_date"], m["sex"], m["specific_needs"])
            for m in data["members"]] == [(ids["spouse"], "spouse", "1992-08-01", "female", ["woman_at_risk"]),
                                          (ids["child"], "child", "2018-03-05", "male", [])]
    h = {**reg.headers("registration-officer"), "X-Purpose": "registration"}
    household = (await reg.client.get(f"/api/v1/households/{out['household_id']}", headers=h)).json()
    assert household["focal_person_id"] == ids["principal"]
    assert {m["person_id"]: m["relationship"] for m in household["members"]} == {
        ids["principal"]: "focal", ids["spouse"]: "spouse", ids["child"]: "child"}
    again = await post(reg, body(PRINCIPAL, SPOUSE, CHILD), "group-0001")  # a retry: the same answer, nothing new
    assert again.json() == out and len(await reg.published("registration.person.registered.v1")) == 3


async def test_one_person_referred_alone_is_unchanged(reg):
    r = await reg.client.post("/api/v1/border-referrals", headers={**reg.headers("border-officer"),
                                                                   "Idempotency-Key": "single-0001"},
                              json={"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12",
                                    "sex": "male", "citizenship": "AFG", "crossing_point": "Dostyk",
                                    "language": "prs", "intent": "asylum"})
    assert r.status_code == 201, r.text
    [referral] = await reg.published("registration.referral.registered.v1")
    assert referral["data"]["members"] == []


@pytest.mark.parametrize("members, rule", [
    ([SPOUSE, CHILD], "one_principal"),
    ([PRINCIPAL, {**PRINCIPAL, "relationship": "principal", "given_name": "Other"}], "one_principal"),
    ([PRINCIPAL, SPOUSE, CHILD, CHILD], "duplicate_group_member"),
    ([PRINCIPAL, SPOUSE, {**CHILD, "birth_date": "1989-01-01"}], "child_born_after_parents"),
    ([PRINCIPAL, *(person("child", f"Child{chr(65 + i)}", f"2019-01-{1 + i:02d}") for i in range(30))],
     "group_size_limit"),
])
async def test_a_refused_group_is_422_with_the_rule_and_stores_nothing(reg, members, rule):
    r = await post(reg, body(*members), f"group-bad-{rule}-{len(members)}")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["rule"] == rule
    assert await reg.published() == []
    h = {**reg.headers("registration-officer"), "X-Purpose": "registration"}
    assert (await reg.client.get("/api/v1/border-referrals", headers=h)).json()["items"] == []


async def test_bad_shapes_are_422(reg):
    assert (await post(reg, body(), "group-empty")).status_code == 422
    assert (await post(reg, body({**PRINCIPAL, "relationship": "cousin"}), "group-cousin")).status_code == 422
    assert (await post(reg, body({**PRINCIPAL, "sex": "other"}), "group-sex")).status_code == 422


async def test_each_member_gets_their_status_and_the_adults_a_certificate_as_rsd_names_them(reg):
    from pana_events.events import rsd

    r = await post(reg, body(PRINCIPAL, SPOUSE, CHILD), "group-0002")
    ids = {m["relationship"]: m["person_id"] for m in r.json()["members"]}
    p, s, c = ids["principal"], ids["spouse"], ids["child"]
    on, until = date(2026, 1, 5), date(2026, 4, 4)
    await reg.deliver(rsd.ApplicationLodged(application_id="a-g", person_id=p, member_ids=[p, s, c], lodged_on=on,
                                            registered_on=on, decision_due=date(2026, 4, 5)), subject=p)
    for holder, members in ((p, [p, c]), (s, [s])):  # as rsd requests them: children on the principal's
        await reg.deliver(rsd.CertificateRequested(application_id="a-g", person_id=holder, member_ids=members,
                                                   valid_from=on, valid_until=until, reason="registration"), subject=p)
    h = {**reg.headers("registration-officer"), "X-Purpose": "case-work"}
    for pid in (p, s, c):
        assert (await reg.client.get(f"/api/v1/persons/{pid}", headers=h)).json()["legal_status"] == "asylum_seeker"
    issued = {e["data"]["person_id"]: e["data"]["kind"] for e in await reg.published("registration.document.issued.v1")}
    assert issued == {p: "asylum_seeker_certificate", s: "asylum_seeker_certificate"}
