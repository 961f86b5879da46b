"""Reads with more than one query: the search of the register and its population statistics."""

from __future__ import annotations

from datetime import date

from pana_kit.paging import Page

from ..domain import (
    MatchingConfig, Person, PopulationStatistics, RegistrationRules, blocking_key, match_key, name_similarity,
    population_record, population_statistics, project_legal_status, statistics_of_counts,
)
from ..pages import offset_of, offset_page
from ..store.repository import Persons, StatusFacts
from ..store.statistics import Population
from ..store.tables import PersonRow


# A name search scores at most this many records sharing a blocking key with the query.
NAME_SEARCH_POOL = 500
NAME_MATCH = 0.85


async def search_persons(session, matching: MatchingConfig, *, name: str | None, include_merged: bool,
                         cursor: dict | None, limit: int, document_number: str | None,
                         **filters: str | None) -> Page[tuple[PersonRow, float | None]]:
    """Filters combine (AND). By name: ranked by similarity across scripts, a page of the ranking (offset
    cursor); otherwise in a stable order (keyset). Merged records only when asked for."""
    persons = Persons(session, matching)
    if not name:
        page = await persons.search(name_keys=None, document_number=document_number, pool=NAME_SEARCH_POOL,
                                    cursor=cursor, limit=limit, **filters)
        # Merged records are skipped after paging, so a page may hold fewer than `limit` items.
        return Page([(r, None) for r in page.items if include_merged or not r.document.get("merged_into")],
                    page.next_cursor)
    start = offset_of(cursor, most=NAME_SEARCH_POOL)
    keys = {f"{kind}:{blocking_key(w, matching.blocking_key_length)}" for w in name_words(name) for kind in ("f", "g")}
    scored = []
    for row in await persons.search(name_keys=keys, document_number=document_number, pool=NAME_SEARCH_POOL,
                                    cursor=None, limit=limit, **filters):
        person = Person.from_document(row.document)
        if person.merged_into and not include_merged:
            continue
        score = name_score(name, person)
        if score > 0:
            scored.append((row, score))
    scored.sort(key=lambda s: (-s[1], s[0].person_id))
    return offset_page(scored, start, limit)


def name_score(query: str, person: Person) -> float:
    """Every word of the query must be like one of the person's names (any script); mean of the best matches."""
    names = [n for n in (person.given_name, person.family_name, person.patronymic, person.given_name_latin,
                         person.family_name_latin, person.patronymic_latin) if n]
    words = [w for w in name_words(query)]
    if not words:
        return 0.0
    scores = []
    for word in words:
        best = max((name_similarity(word, part) for n in names for part in n.split()), default=0.0)
        if best < NAME_MATCH:
            return 0.0
        scores.append(best)
    return round(sum(scores) / len(scores), 4)


def name_words(query: str) -> list[str]:
    return [w for w in query.split() if match_key(w)][:4]


async def population(session, as_of: date, rules: RegistrationRules) -> PopulationStatistics:
    """The register on a day, each person with the legal status the facts known by then give: from the summary
    the projections keep (store/statistics.py), one aggregate query."""
    return statistics_of_counts(await Population(session).on(as_of), as_of=as_of, rules=rules)


async def population_recount(session, as_of: date, rules: RegistrationRules) -> PopulationStatistics:
    """The same figures counted from every person and their facts (what the summary must always equal)."""
    facts = await StatusFacts(session).known_on(as_of)
    records = []
    for person in await Persons(session).everyone():
        record = population_record(person, project_legal_status(person.person_id, facts.get(person.person_id, ())),
                                   as_of)
        if record is not None:
            records.append(record)
    return population_statistics(records, as_of=as_of, rules=rules)
