"""What rsd answers to the operator's `pana reconcile --domain` (read-only, system-wide).

Loaded through the `pana.reconcile` entry point; the kit's `pana_kit.domain_checks` compares the
services' answers, so no service reads another's database.
"""

from __future__ import annotations

from sqlalchemy import select

from ..domain import Application, ApplicationState
from ..settings import RsdSettings
from .tables import ApplicationRow

_CHUNK = 500


async def applications_of_referrals(session, referral_ids: list[str]) -> dict[str, str]:
    """Of `referral_ids`, those an application was lodged from: referral id -> application id."""
    out: dict[str, str] = {}
    ids = sorted(set(referral_ids))
    for start in range(0, len(ids), _CHUNK):
        rows = await session.execute(select(ApplicationRow.source_referral_id, ApplicationRow.id)
                                     .where(ApplicationRow.source_referral_id.in_(ids[start:start + _CHUNK])))
        out.update(dict(rows.all()))
    return out


async def recognised_persons(session) -> dict[str, str]:
    """Persons who are refugees now (recognised in their own right or as derivatives, status not ended,
    alive): person id -> application id."""
    rules = RsdSettings().rules()
    out: dict[str, str] = {}
    states = [ApplicationState.RECOGNISED.value, ApplicationState.STATUS_ENDED.value]
    for row in (await session.execute(select(ApplicationRow).where(ApplicationRow.status.in_(states)))).scalars():
        app = Application.from_document(row.document, rules=rules)
        for member_id in app.member_ids_holding_status:
            out[app.member(member_id).person_id] = row.id
    return out
