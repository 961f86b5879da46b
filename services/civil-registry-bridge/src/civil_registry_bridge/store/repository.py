"""Loading and saving birth requests; every query of requests goes through here."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import or_, select, update

from pana_kit.domain import NotFound

from ..domain.request import ACTIVE_STATES, CALLING_STATES, BirthRequest
from .tables import BirthRequestRow

DUE_STATES = sorted(CALLING_STATES | {"received"})


class VersionConflict(Exception):
    """Someone else changed the request between our read and our write."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


class BirthRequests:
    def __init__(self, session):
        self.session = session

    async def get(self, request_id: str) -> tuple[BirthRequest, int]:
        row = await self.session.get(BirthRequestRow, request_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no birth request {request_id}")
        return BirthRequest.from_document(row.document), row.version

    async def by_key(self, client: str, idempotency_key: str) -> BirthRequestRow | None:
        stmt = select(BirthRequestRow).where(BirthRequestRow.client == client,
                                             BirthRequestRow.idempotency_key == idempotency_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, request: BirthRequest, *, client: str) -> BirthRequestRow:
        now = _now()
        row = BirthRequestRow(id=request.request_id, client=client, idempotency_key=request.idempotency_key,
                              fingerprint=request.fingerprint(), kind=request.kind, version=1,
                              created_at=now, **_columns(request))
        self.session.add(row)
        return row

    async def save(self, request: BirthRequest, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency)."""
        result = await self.session.execute(
            update(BirthRequestRow)
            .where(BirthRequestRow.id == request.request_id, BirthRequestRow.version == expected_version)
            .values(version=expected_version + 1, **_columns(request))
        )
        if result.rowcount != 1:
            raise VersionConflict(request.request_id)
        return expected_version + 1

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of requests owing a registry call that may be made now, the longest-waiting first."""
        stmt = (select(BirthRequestRow.id)
                .where(BirthRequestRow.status.in_(DUE_STATES),
                       or_(BirthRequestRow.next_attempt_at.is_(None), BirthRequestRow.next_attempt_at <= now))
                .order_by(BirthRequestRow.next_attempt_at, BirthRequestRow.id).limit(limit))
        return list((await self.session.execute(stmt)).scalars())

    async def quiet_since(self, before: datetime, limit: int) -> list[str]:
        """Active requests not updated since `before` (candidates for the reconciler)."""
        stmt = (select(BirthRequestRow.id)
                .where(BirthRequestRow.status.in_(sorted(ACTIVE_STATES)), BirthRequestRow.updated_at <= before)
                .order_by(BirthRequestRow.updated_at).limit(limit))
        return list((await self.session.execute(stmt)).scalars())


def _columns(request: BirthRequest) -> dict:
    return dict(
        status=request.state,
        person_id=request.person_id,
        submission_id=request.submission_id,
        next_attempt_at=request.next_attempt_at,
        document=request.to_document(),
        updated_at=request.updated_at or _now(),
    )
