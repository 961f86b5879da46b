"""Loading and saving applications; every query of applications goes through here."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, update

from pana_kit.domain import NotFound
from pana_kit.errors import Problem

from ..domain import Application, RsdRules
from .tables import ApplicantRow, ApplicationRow


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Applications:
    def __init__(self, session, rules: RsdRules):
        self.session = session
        self.rules = rules

    async def get_row(self, application_id: str) -> ApplicationRow:
        row = await self.session.get(ApplicationRow, application_id)
        if row is None:
            raise NotFound(f"no application {application_id}")
        return row

    async def get(self, application_id: str) -> tuple[Application, int]:
        row = await self.get_row(application_id)
        return Application.from_document(row.document, rules=self.rules), row.version

    async def by_referral(self, referral_id: str) -> ApplicationRow | None:
        return (await self.session.execute(select(ApplicationRow).where(ApplicationRow.source_referral_id == referral_id))).scalar_one_or_none()

    def add(self, app: Application, *, source_referral_id: str | None = None) -> ApplicationRow:
        now = _now()
        row = ApplicationRow(id=app.id, person_id=app.person_id, source_referral_id=source_referral_id, version=1,
                             created_at=now, updated_at=now, **_columns(app))
        self.session.add(row)
        return row

    async def save(self, app: Application, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency)."""
        result = await self.session.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == app.id, ApplicationRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), **_columns(app))
        )
        if result.rowcount != 1:
            raise Problem(412, "the application changed since it was read; read it again and reapply your change")
        return expected_version + 1


def _columns(app: Application) -> dict:
    return dict(
        office=app.office,
        officer_id=app.officer_id,
        status=app.state.value,
        priority=bool(app.priority),
        lodged_on=app.lodged_on,
        registered_on=app.registered_on,
        decision_due=app.decision_due if app.registered_on else None,
        document=app.to_document(),
    )


class Applicants:
    def __init__(self, session):
        self.session = session

    async def get(self, person_id: str) -> ApplicantRow | None:
        return await self.session.get(ApplicantRow, person_id)

    async def upsert(self, **values) -> None:
        row = await self.session.get(ApplicantRow, values["person_id"])
        if row is None:
            self.session.add(ApplicantRow(**values, updated_at=_now()))
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = _now()
