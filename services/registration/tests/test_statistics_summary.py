"""The population statistics' summary (kept by the write path) equals a recount of every person, after a random
sequence of changes — refused ones included — and after a backfill (issue 16)."""

import random
from datetime import date, timedelta

from sqlalchemy import delete, func, select, update

from pana_kit.application import ANY_VERSION, run_command
from pana_kit.auth import Principal
from pana_kit.domain import DomainError, utcnow
from pana_kit.outbox import UnitOfWork
from registration import service
from registration.domain import FactKind, PopulationMember, RegistrationRules, count_changes
from registration.publishing import publish
from registration.store.repository import Persons
from registration.store.statistics import Population
from registration.store.tables import PersonRow, PopulationCountRow

OFFICER = Principal("officer-1", None, ("registration-officer",), frozenset(), office="almaty")
RULES = RegistrationRules(statistics_small_cell_threshold=1)  # nothing masked: compare every count
COUNTRIES = ["AFG", "SYR", "UZB", None]
KINDS = list(FactKind)


def day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


async def figures(reg, on: date, *, recount: bool) -> dict:
    async with reg.app.state.db.transaction() as session:
        stats = await (service.population_recount if recount else service.population)(session, on, RULES)
    return {(c.legal_status, c.sex, c.age_bracket, c.country_of_origin): c.count for c in stats.cells}


async def assert_summary_equals_recount(reg, days) -> int:
    compared = 0
    for on in days:
        summary, recount = await figures(reg, on, recount=False), await figures(reg, on, recount=True)
        assert summary == recount, on
        compared += sum(recount.values())
    return compared


async def register(reg, rng: random.Random, n: int) -> tuple[int, str | None]:
    today = utcnow().date()
    body = {"given_name": rng.choice(["Zarina", "Laila", "Aziz", "Omid"]), "family_name": f"Family{n % 7}",
            "birth_date": day(rng, date(1960, 1, 1), today - timedelta(days=1)).isoformat(),
            "sex": rng.choice(["male", "female"]), "citizenship": ["AFG"]}
    if rng.random() < 0.3:  # children who move bracket around today, and on the 29th of February
        body["birth_date"] = rng.choice([date(2021, 12, 3), date(2020, 2, 29), date(2008, 12, 20)]).isoformat()
    if country := rng.choice(COUNTRIES):
        body["country_of_origin"] = country
    if rng.random() < 0.1:
        body["birth_date"] = "2999-01-01"  # refused: 422
    headers = {**reg.headers("registration-officer"), "Idempotency-Key": f"stat-{n:06d}"}
    r = await reg.client.post("/api/v1/persons", json=body, headers=headers)
    return r.status_code, r.json().get("person_id") if r.status_code == 201 else None


async def correct(reg, rng: random.Random, pid: str, *, stale: bool | None = None) -> int:
    r = await reg.client.get(f"/api/v1/persons/{pid}", headers=reg.headers("registration-officer"))
    stale = rng.random() < 0.2 if stale is None else stale
    etag = '"stale"' if stale else r.headers["etag"]  # refused: 412
    change = rng.choice([{"sex": rng.choice(["male", "female"])}, {"country_of_origin": rng.choice(["AFG", "TJK"])},
                         {"birth_date": day(rng, date(2000, 1, 1), date(2022, 1, 1)).isoformat()}])
    r = await reg.client.patch(f"/api/v1/persons/{pid}", json={**change, "reason": "correction"},
                               headers={**reg.headers("registration-officer"), "If-Match": etag})
    return r.status_code


async def use_case(reg, work) -> str:
    try:
        async with UnitOfWork(reg.app.state.db, "test") as uow:
            await work(uow)
    except DomainError as refused:  # rolled back, the summary with it
        return refused.rule or "refused"
    return "done"


async def test_summary_equals_recount_after_random_operations_and_after_backfill(reg):
    rng = random.Random(16)
    today = utcnow().date()
    persons: list[str] = []
    outcomes: dict[str, int] = {}

    def tally(what):
        outcomes[str(what)] = outcomes.get(str(what), 0) + 1

    for n in range(220):
        op = rng.random()
        if op < 0.3 or len(persons) < 5:
            status, pid = await register(reg, rng, n)
            tally(f"register {status}")
            if pid:
                persons.append(pid)
        elif op < 0.7:
            pid = rng.choice(persons + ["nobody"])  # a fact for a person not in the register changes nothing
            kind = rng.choice(KINDS)
            source = f"ev-{rng.randint(0, 60)}"  # repeats: at-least-once delivery
            on = day(rng, date(2024, 1, 1), today + timedelta(days=400))
            tally(await use_case(reg, lambda uow: service.add_status_fact(uow, pid, kind, on, source)))
        elif op < 0.85:
            tally(f"correct {await correct(reg, rng, rng.choice(persons))}")
        elif op < 0.93:
            pid, died = rng.choice(persons), day(rng, date(2025, 1, 1), today + timedelta(days=30))

            async def death(uow, pid=pid, died=died):
                await run_command(uow, Persons(uow.session), pid,
                                  lambda p: p.record_death(died, changed_by="o", reason="death", now=utcnow()),
                                  if_match=ANY_VERSION, publish=publish)
            tally(f"death {await use_case(reg, death)}")
        else:
            a, b = rng.sample(persons, 2)

            async def merge(uow, a=a, b=b):
                await service.merge_persons(uow, surviving_id=a, merged_id=b, reason="same person", principal=OFFICER,
                                            if_match=ANY_VERSION, matching=reg.app.state.matching)
            tally(f"merge {await use_case(reg, merge)}")

    refused = sum(n for what, n in outcomes.items() if not (what == "done" or what.endswith(("201", "200"))))
    assert refused > 20 and outcomes.get("done", 0) > 40, outcomes  # the sequence exercised both kinds

    checked = [date(2023, 12, 31), date(2024, 6, 1), today - timedelta(days=1), today, today + timedelta(days=40),
               today + timedelta(days=400), date(2027, 3, 1), date(2028, 2, 29), date(2031, 1, 1)]
    assert await assert_summary_equals_recount(reg, checked) > 20

    # The backfill (what the migration does, from the documents and facts) gives the same summary.
    async with reg.app.state.db.transaction() as session:
        before = sorted(tuple(r) for r in await session.execute(select(PopulationCountRow.__table__).where(
            PopulationCountRow.count != 0)))
        await session.execute(update(PersonRow).values(population=None))
        assert await Population(session).rebuild() == len(persons)
    async with reg.app.state.db.transaction() as session:
        totals = {}
        for r in await session.execute(select(PopulationCountRow.__table__)):
            totals[tuple(r)[:6]] = r.count
    assert sorted(k + (n,) for k, n in totals.items() if n) == before
    assert await assert_summary_equals_recount(reg, checked) > 20


async def test_a_person_loaded_without_a_count_is_counted_at_their_next_change(reg):
    """Rows written around the write path (bulk loads) carry no `population`: their first change counts them
    from their facts, as a backfill would."""
    status, pid = await register(reg, random.Random(1), 1)
    assert status == 201
    assert await use_case(reg, lambda uow: service.add_status_fact(
        uow, pid, FactKind.REFUGEE_STATUS_RECOGNISED, date(2025, 1, 1), "rec-1")) == "done"
    async with reg.app.state.db.transaction() as session:
        await session.execute(update(PersonRow).values(population=None))
        await session.execute(delete(PopulationCountRow))
    assert await correct(reg, random.Random(3), pid, stale=True) == 412
    assert await figures(reg, date(2026, 1, 1), recount=False) == {}
    assert await correct(reg, random.Random(3), pid, stale=False) == 200
    async with reg.app.state.db.transaction() as session:
        counted = (await session.execute(select(func.sum(PopulationCountRow.count)))).scalar()
    assert counted == 1
    assert await assert_summary_equals_recount(reg, [date(2026, 1, 1), utcnow().date()]) >= 1


def test_count_changes_cancel_out():
    member = PopulationMember("p", date(2024, 1, 1), "female", date(2020, 2, 29), "AFG",
                              statuses=((date(2024, 1, 1), "asylum_seeker"), (date(2026, 5, 1), "refugee")))
    assert count_changes(member, member) == {}
    moves = count_changes(None, member)
    assert sum(moves.values()) == 1  # one person in, never out (no death)
    # 29 February 2020: five years old on 1 March 2025, a common year
    assert moves[(date(2025, 3, 1), ("asylum_seeker", "female", "5-11", "AFG"))] == 1
    assert moves[(date(2025, 3, 1), ("asylum_seeker", "female", "0-4", "AFG"))] == -1
