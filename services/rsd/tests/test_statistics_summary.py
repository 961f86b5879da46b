"""The statistics' summary (kept by every save of an application) equals a recount of the applications, after a
random sequence of steps — refused ones and stale saves included — and after the start-up backfill (issue 16)."""

import random
from datetime import date, timedelta

from api_flows import harness
from rsd_flows import fails, interpreter, meets, principal, spouse
from sqlalchemy import delete, null, update

from pana_kit.domain import DomainError, StaleVersion
from rsd.domain import AppealOutcome, Application, ArrivalManner, ClosureReason, Outcome, RejectionReason, Sex
from rsd.domain.application import ReopeningGround
from rsd.domain.statistics import tally, tally_changes, tally_of_sums
from rsd.store.repository import Applications
from rsd.store.statistics import Statistics
from rsd.store.tables import ApplicationRow, StatisticsCountRow

OFFICES = ["Almaty", "Astana"]
START = date(2025, 1, 6)


def step(app: Application, rng: random.Random, on: date) -> None:
    """One step of the procedure, chosen at random; the domain refuses those out of turn."""
    kind = rng.choice(["register", "prepare", "decide", "notify", "appeal", "decide_appeal", "close", "reopen",
                       "child"])
    if kind == "register":
        app.register(on=on)
    elif kind == "prepare":
        if app.registered_on is None:  # (the domain raises TypeError, not a refusal, for a reopened unregistered file)
            return
        iid = f"i-{len(app.interviews)}"
        app.schedule_interview(interview_id=iid, member_id="m1", scheduled_on=on, interviewer_id="eo1",
                               interviewer_sex=Sex.FEMALE, interpreter=interpreter())
        app.record_interview_held(iid, on=on)
        outcome = rng.choice([Outcome.RECOGNISED, Outcome.REJECTED])
        app.record_assessment(meets(assessed_on=on) if outcome is Outcome.RECOGNISED else fails())
        app.recommend(officer_id="eo1", outcome=outcome, on=on, rejection_reasons=(
            (RejectionReason.HARM_NOT_PERSECUTION,) if outcome is Outcome.REJECTED else ()))
    elif kind == "decide":
        app.issue_decision(decided_by="sup1", on=on)
    elif kind == "notify":
        app.serve_notification(on=on, language="dari")
    elif kind == "appeal":
        app.lodge_appeal(appeal_id=f"ap{len(app.appeals)}", on=on)
    elif kind == "decide_appeal":
        app.decide_appeal(decided_by="judge1", on=on, outcome=rng.choice(list(AppealOutcome)))
    elif kind == "close":
        app.close(reason=rng.choice([ClosureReason.WITHDRAWAL, ClosureReason.ABANDONMENT, ClosureReason.NO_APPEAL]),
                  on=on)
    elif kind == "reopen":
        app.reopen(ground=rng.choice(list(ReopeningGround)), reason="new facts", on=on)
    else:
        app.add_child(member_id=None, person_id=f"child-{rng.randint(0, 10**6)}", birth_date=on, on=on)


def lodge(rng: random.Random, i: int) -> Application:
    family = [spouse(id=f"m2", person_id=f"s{i}")] if rng.random() < 0.5 else None
    return Application.lodge(application_id=f"a{i:03d}", office=rng.choice(OFFICES),
                             principal=principal(person_id=f"p{i}"), lodged_on=START + timedelta(days=rng.randint(0, 60)),
                             arrived_on=START - timedelta(days=2), manner_of_arrival=ArrivalManner.REGULAR,
                             officer_id="eo1", family=family,
                             previous_application_id="a-old" if rng.random() < 0.2 else None)


async def figures(h, office: str, on: date) -> tuple[dict, dict]:
    async with h.app.state.db.transaction() as session:
        summary = await Statistics(session).tally(office, on)
        recount = tally(await Applications(session, h.app.state.rules, office=office).lodged_by(on), on)
    return summary, recount


async def assert_summary_equals_recount(h, days) -> int:
    seen = 0
    for office in OFFICES:
        for on in days:
            summary, recount = await figures(h, office, on)
            assert summary == recount, (office, on)
            seen += recount["applications"]["new"]["cases"] + recount["applications"]["repeat"]["cases"]
    return seen


async def test_summary_equals_recount_after_random_steps_and_after_backfill(tmp_path):
    rng = random.Random(16)
    outcomes: dict[str, int] = {}
    async with harness(tmp_path) as h:
        rules = h.app.state.rules
        ids = []
        for i in range(12):
            async with h.app.state.db.transaction() as session:
                app = lodge(rng, i)
                await Applications(session, rules).add(app)
                ids.append((app.id, app.lodged_on))
        clock = {app_id: lodged for app_id, lodged in ids}
        for n in range(260):
            app_id = rng.choice(ids)[0]
            clock[app_id] += timedelta(days=rng.randint(0, 40))
            try:
                async with h.app.state.db.transaction() as session:
                    repo = Applications(session, rules)
                    app, version = await repo.load(app_id)
                    step(app, rng, clock[app_id])
                    stale = rng.random() < 0.1
                    await repo.save(app, version - 1 if stale else version)
                outcomes["saved"] = outcomes.get("saved", 0) + 1
            except (DomainError, StaleVersion) as refused:  # rolled back, the summary with it
                key = type(refused).__name__
                outcomes[key] = outcomes.get(key, 0) + 1
        assert outcomes.get("saved", 0) > 40 and sum(outcomes.values()) - outcomes["saved"] > 40, outcomes

        days = [START - timedelta(days=1), START, START + timedelta(days=30), START + timedelta(days=90),
                START + timedelta(days=200), START + timedelta(days=400), max(clock.values()), date(2100, 1, 1)]
        assert await assert_summary_equals_recount(h, days) > 10

        # The start-up backfill counts rows stored before the summary (tally NULL) the same way.
        async with h.app.state.db.transaction() as session:
            await session.execute(update(ApplicationRow).values(tally=null()))  # as the migration leaves them
            await session.execute(delete(StatisticsCountRow))
            assert await Statistics(session).backfill(Applications(session, rules).application) == len(ids)
            assert await Statistics(session).backfill(Applications(session, rules).application) == 0
        assert await assert_summary_equals_recount(h, days) > 10


def test_changes_of_one_application_sum_to_its_tally_on_every_day():
    rng = random.Random(7)
    for i in range(40):
        app = lodge(rng, i)
        on = app.lodged_on
        for _ in range(12):
            on += timedelta(days=rng.randint(0, 30))
            try:
                step(app, rng, on)
            except DomainError:
                pass
        changes = tally_changes(app)
        for day in sorted({d for d, _ in changes} | {app.lodged_on - timedelta(days=1), on + timedelta(days=1)}):
            sums: dict[str, int] = {}
            for (d, figure), n in changes.items():
                if d <= day:
                    sums[figure] = sums.get(figure, 0) + n
            assert tally_of_sums(sums) == tally([app], day), (app.id, day)
