"""What statelessness answers to the operator's `pana reconcile --domain` (read-only, system-wide).

Loaded through the `pana.reconcile` entry point; the kit's `pana_kit.domain_checks` compares the
services' answers, so no service reads another's database.
"""

from __future__ import annotations

from sqlalchemy import select

from ..domain.naturalization import NaturalizationOutcome
from .tables import CaseRow, NaturalizationTrackRow


async def recognised_stateless(session) -> dict[str, str]:
    """Persons recognised as stateless and not since naturalized: person id -> case id."""
    naturalized = select(NaturalizationTrackRow.person_id).where(
        NaturalizationTrackRow.outcome == NaturalizationOutcome.GRANTED.value)
    rows = await session.execute(select(CaseRow.person_id, CaseRow.id).where(
        CaseRow.recognised_on.is_not(None), CaseRow.person_id.not_in(naturalized)))
    return dict(rows.all())
