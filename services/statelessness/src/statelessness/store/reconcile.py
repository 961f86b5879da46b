"""What statelessness answers to the operator's `pana reconcile --domain` (read-only, system-wide).

Loaded through the `pana.reconcile` entry point; the kit's `pana_kit.domain_checks` compares the
services' answers, so no service reads another's database.
"""

from __future__ import annotations

from sqlalchemy import select

from .tables import CaseRow


async def recognised_stateless(session) -> dict[str, str]:
    """Persons recognised as stateless: person id -> case id."""
    rows = await session.execute(select(CaseRow.person_id, CaseRow.id).where(CaseRow.recognised_on.is_not(None)))
    return dict(rows.all())
