"""Duplicates: merging two records, resolving the review queue."""

from __future__ import annotations


from pana_kit.application import ANY_VERSION, Outcome, run_command
from pana_kit.domain import RuleViolation, utcnow

from ..domain import MatchingConfig, Person
from ..publishing import publish
from ..store.repository import DuplicateReviews, Persons
from ..store.tables import PersonRow
from .common import record_audit, audit


async def merge_persons(uow, *, surviving_id: str, merged_id: str, reason: str, principal, if_match: str | None,
                        matching: MatchingConfig) -> tuple[Outcome[Person], PersonRow]:
    """Fold `merged_id` into `surviving_id`: the merged record is kept, marked, and leaves the duplicate index."""
    persons = Persons(uow.session, matching)

    async def fold_into(surviving: Person) -> None:
        def fold(merged: Person) -> None:
            if surviving.merged_into:
                raise RuleViolation("merge_distinct_records", f"{surviving.person_id} was itself merged into "
                                    f"{surviving.merged_into}; merge into that record")
            merged.merge_into(surviving, merged_by=principal.subject, reason=reason, now=utcnow())
            # What the register's row knows of the merged record and the surviving one lacks, it keeps.
            surviving.household_id = surviving.household_id or merged.household_id
            surviving.legal_status = surviving.legal_status or merged.legal_status

        await run_command(uow, persons, merged_id, fold, if_match=ANY_VERSION, publish=publish)

    done = await run_command(uow, persons, surviving_id, fold_into, if_match=if_match, publish=publish)
    await DuplicateReviews(uow.session).merged(surviving_id, merged_id)
    await record_audit(uow, audit(principal, "merge", f"person/{merged_id}"), outcome=f"into {surviving_id}")
    return done, await persons.fresh_row(surviving_id)


async def resolve_review(uow, review_id: str, *, outcome: str, reason: str, surviving_person_id: str | None, principal,
                         if_match: str | None, matching: MatchingConfig):
    """`not_duplicate` closes the review; `merge` also merges the pair (as `merge_persons`)."""
    reviews = DuplicateReviews(uow.session)
    done = await run_command(uow, reviews, review_id, lambda review: review.resolve(outcome, surviving_person_id),
                             if_match=if_match, publish=publish,
                             audit=audit(principal, "not-duplicate", f"duplicate-review/{review_id}")
                             if outcome == "not_duplicate" else None)
    if done.result:
        surviving, merged = done.result
        await merge_persons(uow, surviving_id=surviving, merged_id=merged, reason=reason, principal=principal,
                            if_match=ANY_VERSION, matching=matching)
    row = await reviews.find(review_id)
    await uow.session.refresh(row)
    return row
