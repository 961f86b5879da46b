"""The statistics' summary (kept by the writes of cases, flags, naturalization tracks and persons) equals a recount
of every record, after a random sequence of steps — refused ones and stale saves included — and after a backfill
(issue 16)."""

import random
from datetime import date, timedelta

from sqlalchemy import delete, null, update

from pana_dev.testing import service_harness
from pana_kit.domain import DomainError, StaleVersion
from statelessness import service
from statelessness.app import create
from statelessness.domain import (
    ChildAtRiskFlag, DeterminationCase, InquiryAnswer, NaturalizationTrack, OpeningReason, Outcome, ParentNationality,
    ResolutionBasis, StateLink,
)
from statelessness.settings import StatelessnessSettings
from statelessness.store.repository import Cases, ChildFlags, NaturalizationTracks, PersonInProcedure, Persons
from statelessness.store.summary import Summary
from statelessness.store.tables import CaseRow, StatisticsCountRow

START = date(2024, 1, 15)


def case_step(case: DeterminationCase, rng: random.Random, on: date, rules) -> None:
    kind = rng.choice(["inquiry", "answer", "unanswered", "interview", "determine", "determine"])
    if kind == "inquiry":
        case.send_inquiry(inquiry_id=f"q{len(case.inquiries)}", state=rng.choice(["UZB", "RUS", "KGZ"]),
                          link=rng.choice(list(StateLink)), sent_on=on, rules=rules)
    elif kind == "answer":
        q = rng.choice(case.inquiries)
        case.record_inquiry_answer(inquiry_id=q.inquiry_id, answer=rng.choice(list(InquiryAnswer)), answered_on=on)
    elif kind == "unanswered":
        case.record_inquiry_unanswered(inquiry_id=rng.choice(case.inquiries).inquiry_id, today=on)
    elif kind == "interview":
        case.hold_interview(held_on=on, officer_id="o1")
    else:
        outcome = rng.choice([Outcome.STATELESS, Outcome.NOT_STATELESS])
        case.determine(outcome=outcome, officer_id="o1", decided_on=on, reasons="r", rules=rules,
                       **({"nationality": "UZB"} if outcome is Outcome.NOT_STATELESS else {}))


async def assert_summary_equals_recount(h, days) -> int:
    seen = 0
    threshold = 1
    for on in days:
        async with h.app.state.db.transaction() as session:
            summary = await Summary(session).figures_on(on, threshold)
            recount = await service.statistics_recount(session, on, threshold)
        assert summary == recount, on
        seen += recount["cases"]["opened"]
    return seen


async def test_summary_equals_recount_after_random_steps_and_after_backfill(tmp_path):
    rng = random.Random(16)
    outcomes: dict[str, int] = {}
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "k.json")) as h:
        rules = h.app.state.rules
        keyring = h.app.state.keyring
        db = h.app.state.db
        persons = [f"p{i}" for i in range(24)]
        clock: dict[str, date] = {}
        for n in range(220):
            op = rng.random()
            try:
                async with db.transaction() as session:
                    if op < 0.12 or not clock:
                        cid = f"c{n}"
                        clock[cid] = START + timedelta(days=rng.randint(0, 90))
                        case = DeterminationCase.open(case_id=cid, person_id=rng.choice(persons),
                                                      reason=OpeningReason.APPLICATION, opened_on=clock[cid],
                                                      rules=rules, birth_date=date(1990, 5, 1), feared_states=())
                        try:
                            await Cases(session, keyring).add(case)
                        except PersonInProcedure:  # one case at a time per person: refused, never stored
                            del clock[cid]
                            raise
                    elif op < 0.7:
                        cid = rng.choice(sorted(clock))
                        clock[cid] += timedelta(days=rng.randint(0, 60))
                        repo = Cases(session, keyring)
                        case, version = await repo.load(cid)
                        case_step(case, rng, clock[cid], rules)
                        await repo.save(case, version - 1 if rng.random() < 0.1 else version)
                    elif op < 0.8:
                        repo = NaturalizationTracks(session)
                        cid = rng.choice(sorted(clock))
                        found = await repo.find(f"t-{cid}")
                        if found is None:
                            case, _ = await Cases(session, keyring).load(cid)
                            await repo.add(NaturalizationTrack.open_for(
                                case, track_id=f"t-{cid}", lawful_residence_from=START, opened_on=clock[cid],
                                rules=rules))
                        else:
                            track, version = found
                            track.decide(outcome=rng.choice(["granted", "refused"]),
                                         decided_on=clock[cid] + timedelta(days=rng.randint(0, 400)))
                            await repo.save(track, version)
                    elif op < 0.9:
                        repo = ChildFlags(session)
                        fid = f"f{rng.randint(0, 6)}"
                        found = await repo.find(fid)
                        if found is None:
                            await repo.add(ChildAtRiskFlag.raise_for_birth(
                                flag_id=fid, child_id=f"child-{fid}", birth_date=date(2024, 1, 1),
                                born_in_kazakhstan=True, foundling=False, parents=[ParentNationality.STATELESS],
                                parents_reside_permanently=True, flagged_on=START + timedelta(days=rng.randint(0, 99)),
                                rules=rules))
                        else:
                            flag, version = found
                            flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH,
                                         resolved_on=START + timedelta(days=rng.randint(100, 300)), rules=rules)
                            await repo.save(flag, version)
                    else:
                        await Persons(session).upsert(rng.choice(persons), sex=rng.choice(["female", "male", None]),
                                                      birth_date=date(2019, 2, 28) + timedelta(days=rng.randint(0, 800)))
                outcomes["done"] = outcomes.get("done", 0) + 1
            except (DomainError, StaleVersion, IndexError, PersonInProcedure) as refused:  # rolled back, the summary with it
                outcomes[type(refused).__name__] = outcomes.get(type(refused).__name__, 0) + 1
        assert outcomes["done"] > 60 and sum(outcomes.values()) - outcomes["done"] > 20, outcomes

        days = [START - timedelta(days=1), START, START + timedelta(days=45), START + timedelta(days=120),
                START + timedelta(days=400), START + timedelta(days=900), max(clock.values()), date(2031, 1, 1)]
        assert await assert_summary_equals_recount(h, days) > 10

        async with db.transaction() as session:  # the backfill (the migration's) gives the same figures
            await session.execute(update(CaseRow).values(tally=null()))
            await session.execute(delete(StatisticsCountRow))
            assert await Summary(session).rebuild() >= len(clock)
        assert await assert_summary_equals_recount(h, days) > 10
