"""Loading and saving applications; every query of applications goes through here.

Record-level rule: a caller sees only the applications of their own office. The
statement builders (`_visible`) add that filter, so no query can forget it. Only
event handlers and background jobs (no caller) use an unrestricted repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import case, false, func, select, text, update

from pana_kit.crypto import Keyring, Sealed, SealTarget
from pana_kit.domain import NotFound, StaleVersion, as_utc
from pana_kit.paging import Key, Keyset, Page, by_creation

from ..domain import Application, RsdRules, deadlines
from ..domain.statistics import tally_changes
from .statistics import Statistics, stored
from .tables import APPLICANT_FIELDS, ApplicantRow, ApplicationMemberRow, ApplicationRow, ClaimTextRow

EVERY_OFFICE = object()  # marker for system work (handlers, background jobs)
PENDING_STATES = ("lodged", "registered", "recommended", "rejected", "under_appeal")
FAR_FUTURE = date(9999, 12, 31)
STATISTICS_BATCH = 500

# The orders of the lists, with the cursor keys the API has always issued.
# Stored before they were encrypted (the members and contacts of applications; the applicants' names, birth date,
# needs): sealed at start-up, before serving (`pana_kit.crypto.sealing_at_startup`).
SEALED_AT_REST = (SealTarget(ApplicationRow.__table__, "id", what="application(s)"),
                  SealTarget(ApplicantRow.__table__, "person_id", what="applicant(s)"))

BY_LODGING = by_creation(ApplicationRow)  # {"created_at", "id"}
BY_DEADLINE = Keyset(Key("due", ApplicationRow.next_due), Key("id", ApplicationRow.id))
QUEUE_RANK = case((ApplicationRow.priority.is_(True), 0), else_=1)
QUEUE_DUE = func.coalesce(ApplicationRow.next_due, FAR_FUTURE)
BY_QUEUE = Keyset(Key("rank", QUEUE_RANK, value=lambda row: 0 if row.priority else 1, kind=int),
                  Key("due", QUEUE_DUE, value=lambda row: row.next_due or FAR_FUTURE, kind=date),
                  Key("id", ApplicationRow.id))


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Applications:
    def __init__(self, session, rules: RsdRules, *, office=EVERY_OFFICE):
        """`office`: the caller's office (None sees nothing), or EVERY_OFFICE for system work."""
        self.session = session
        self.rules = rules
        self.office = office

    # ---- statement builders ------------------------------------------------------------
    def _visible(self, stmt):
        if self.office is EVERY_OFFICE:
            return stmt
        if self.office is None:
            return stmt.where(false())
        return stmt.where(ApplicationRow.office == self.office)

    def select(self):
        return self._visible(select(ApplicationRow))

    # ---- single applications -------------------------------------------------------------
    async def row(self, application_id: str) -> ApplicationRow:
        row = (await self.session.execute(self.select().where(ApplicationRow.id == application_id[:64]))).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no application {application_id[:64]}")
        return row

    def application(self, row: ApplicationRow) -> Application:
        return application_of(row, self.rules)

    async def load(self, application_id: str) -> tuple[Application, int]:
        row = await self.row(application_id)
        return self.application(row), row.version

    async def by_referral(self, referral_id: str) -> ApplicationRow | None:
        stmt = self.select().where(ApplicationRow.source_referral_id == referral_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, app: Application, *, source_referral_id: str | None = None) -> int:
        now = _now()
        tally = await Statistics(self.session).move(app.id, (None, None), app.office, tally_changes(app))
        app.reference = await allocate_reference(self.session, app.lodged_on.year)
        self.session.add(ApplicationRow(id=app.id, person_id=app.person_id, source_referral_id=source_referral_id,
                                        reference=app.reference, version=1, created_at=now, updated_at=now, tally=tally,
                                        **_columns(app)))
        await self._members(app, new=True)
        return 1

    async def _members(self, app: Application, *, new: bool = False) -> None:
        """Keep `application_members` in step with the application's members (members are only ever added; a new
        application has none stored yet, so nothing is read)."""
        known = set() if new else set((await self.session.execute(
            select(ApplicationMemberRow.person_id).where(ApplicationMemberRow.application_id == app.id))).scalars())
        for person_id in sorted({m.person_id for m in app.members} - known):
            self.session.add(ApplicationMemberRow(application_id=app.id, person_id=person_id))

    def from_referral(self, referral_id: str) -> "FromReferral":
        return FromReferral(self, referral_id)

    async def save(self, app: Application, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency); the statistics' summary moves
        with it (what was counted is read before the versioned update: if another save came in between, the update
        finds no row and all of this rolls back)."""
        statistics = Statistics(self.session)
        before, after = await statistics.counted(app.id), tally_changes(app)
        result = await self.session.execute(
            self._visible(update(ApplicationRow))
            .where(ApplicationRow.id == app.id, ApplicationRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), tally=stored(after), **_columns(app))
        )
        if result.rowcount != 1:
            raise StaleVersion("the application changed since it was read; read it again and reapply your change")
        await statistics.move(app.id, before, app.office, after)
        await self._members(app)
        return expected_version + 1

    # ---- lists ---------------------------------------------------------------------------
    async def page(self, *, limit: int, cursor: dict | None = None, person_id: str | None = None,
                   status: str | None = None, office: str | None = None) -> Page[ApplicationRow]:
        stmt = self.select()
        if person_id:
            stmt = stmt.where(ApplicationRow.person_id == person_id)
        if status:
            stmt = stmt.where(ApplicationRow.status == status)
        if office:
            stmt = stmt.where(ApplicationRow.office == office)
        return await BY_LODGING.page(self.session, stmt, cursor=cursor, limit=limit)

    async def open_of(self, person_id: str) -> list[str]:
        """Ids of the pending applications a person is on (as principal or family member), by id."""
        on_it = select(ApplicationMemberRow.application_id).where(ApplicationMemberRow.person_id == person_id)
        stmt = (self._visible(select(ApplicationRow.id))
                .where(ApplicationRow.id.in_(on_it), ApplicationRow.status.in_(PENDING_STATES))
                .order_by(ApplicationRow.id))
        return list((await self.session.execute(stmt)).scalars())

    async def live_files_of(self, person_id: str) -> list[str]:
        """Ids of the applications a person is on that are neither closed nor ended, by id."""
        on_it = select(ApplicationMemberRow.application_id).where(ApplicationMemberRow.person_id == person_id)
        stmt = (self._visible(select(ApplicationRow.id))
                .where(ApplicationRow.id.in_(on_it), ApplicationRow.status.not_in(("closed", "status_ended")))
                .order_by(ApplicationRow.id))
        return list((await self.session.execute(stmt)).scalars())

    async def with_deadlines(self, *, today: date, overdue: bool, horizon_days: int, limit: int,
                             officer_id: str | None = None, office: str | None = None,
                             cursor: dict | None = None) -> Page[ApplicationRow]:
        """Applications whose earliest open deadline is overdue, or approaching within the horizon."""
        due = ApplicationRow.next_due
        stmt = self.select().where(due.is_not(None))
        stmt = stmt.where(due < today) if overdue else stmt.where(due >= today, due <= today + timedelta(days=horizon_days))
        if officer_id:
            stmt = stmt.where(ApplicationRow.officer_id == officer_id)
        if office:
            stmt = stmt.where(ApplicationRow.office == office)
        return await BY_DEADLINE.page(self.session, stmt, cursor=cursor, limit=limit)

    async def queue(self, *, officer_id: str, limit: int, cursor: dict | None = None) -> Page[ApplicationRow]:
        """An officer's open cases: priority first, then the earliest deadline."""
        stmt = self.select().where(ApplicationRow.officer_id == officer_id, ApplicationRow.status.in_(PENDING_STATES))
        return await BY_QUEUE.page(self.session, stmt, cursor=cursor, limit=limit)

    async def due_for_watch(self, *, today: date, limit: int, after_id: str = "") -> list[str]:
        """Ids of applications with a deadline before `today` not yet reported missed, by id."""
        stmt = (self._visible(select(ApplicationRow.id))
                .where(ApplicationRow.watch_due < today, ApplicationRow.id > after_id)
                .order_by(ApplicationRow.id).limit(limit))
        if self.session.bind.dialect.name == "postgresql":
            # Several rsd instances each run the watcher: each takes rows the others have not
            # locked, instead of all reading the same batch and all but one failing at save.
            stmt = stmt.with_for_update(of=ApplicationRow, skip_locked=True)
        return list((await self.session.execute(stmt)).scalars())

    async def lodged_by(self, as_of: date) -> list[Application]:
        """Every application lodged by a day (for statistics), read in batches by id."""
        apps: list[Application] = []
        after = ""
        while True:
            stmt = (self.select().where(ApplicationRow.lodged_on <= as_of, ApplicationRow.id > after)
                    .order_by(ApplicationRow.id).limit(STATISTICS_BATCH))
            rows = list((await self.session.execute(stmt)).scalars())
            apps.extend(self.application(r) for r in rows)
            if len(rows) < STATISTICS_BATCH:
                return apps
            after = rows[-1].id

# One statement that both PostgreSQL and SQLite (3.35+) run atomically: the row of the year is locked by the update
# until the transaction ends, so two lodgings never get the same number, and a rolled-back lodging gives its number
# back with the rest of its transaction (no gaps).
_NEXT_REFERENCE = text("INSERT INTO case_references (year, last) VALUES (:year, 1) "
                       "ON CONFLICT (year) DO UPDATE SET last = case_references.last + 1 RETURNING last")


def application_of(row: ApplicationRow, rules: RsdRules) -> Application:
    """The aggregate of a stored row, with its case reference."""
    app = Application.from_document(row.document, rules=rules)
    app.reference = row.reference
    return app


def format_reference(year: int, number: int) -> str:
    return f"RSD-{year}-{number:06d}"


async def allocate_reference(session, year: int) -> str:
    """The next case reference of `year` (`RSD-2026-000123`), counted in the same transaction as the lodging."""
    number = (await session.execute(_NEXT_REFERENCE, {"year": year})).scalar_one()
    return format_reference(year, number)


def _columns(app: Application) -> dict:
    open_deadlines = deadlines(app, app.lodged_on)  # due dates do not depend on the day asked
    first = open_deadlines[0] if open_deadlines else None
    unreported = [d for d in open_deadlines if f"{d.kind.value}:{d.due_on.isoformat()}" not in app.missed_deadlines]
    return dict(
        office=app.office,
        officer_id=app.officer_id,
        status=app.state.value,
        priority=bool(app.priority),
        lodged_on=app.lodged_on,
        registered_on=app.registered_on,
        decision_due=app.decision_due if app.registered_on else None,
        next_due=first.due_on if first else None,
        next_deadline=first.kind.value if first else None,
        watch_due=unreported[0].due_on if unreported else None,
        document=app.to_document(),
    )


class FromReferral:
    """Applications lodged from a border referral: the referral's id is kept, so a referral lodges once."""

    def __init__(self, applications: Applications, referral_id: str):
        self.applications = applications
        self.referral_id = referral_id

    async def add(self, app: Application) -> int:
        return await self.applications.add(app, source_referral_id=self.referral_id)


class ClaimTexts:
    """The claim's free text, sealed with the keyring; bound to its application, kind and ref."""

    def __init__(self, session, keyring: Keyring):
        self.session = session
        self.keyring = keyring

    @staticmethod
    def _context(application_id: str, kind: str, ref: str) -> str:
        return f"rsd:{application_id}:{kind}:{ref}"

    def write(self, application_id: str, kind: str, ref: str, text: str, *, by: str) -> None:
        sealed = self.keyring.seal(text, context=self._context(application_id, kind, ref))
        self.session.add(ClaimTextRow(application_id=application_id, kind=kind, ref=ref, key_id=sealed.key_id,
                                      nonce=sealed.nonce, ciphertext=sealed.ciphertext, written_by=by,
                                      created_at=_now()))

    async def read(self, application_id: str) -> list[dict]:
        stmt = (select(ClaimTextRow).where(ClaimTextRow.application_id == application_id)
                .order_by(ClaimTextRow.id).limit(1000))
        out = []
        for row in (await self.session.execute(stmt)).scalars():
            text = self.keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext),
                                     context=self._context(row.application_id, row.kind, row.ref))
            out.append({"kind": row.kind, "ref": row.ref, "text": text, "written_by": row.written_by,
                        "written_at": as_utc(row.created_at)})
        return out


@dataclass(frozen=True)
class Applicant:
    """What rsd keeps of a registered person (the applicants projection, opened)."""

    person_id: str
    given_name: str = ""
    family_name: str = ""
    sex: str = ""
    birth_date: date | None = None
    citizenship: tuple[str, ...] = ()
    specific_needs: tuple[str, ...] = ()
    given_name_latin: str | None = None
    family_name_latin: str | None = None
    registration_number: str | None = None

    @classmethod
    def from_document(cls, doc: dict) -> "Applicant":
        born = doc.get("birth_date")
        return cls(person_id=doc["person_id"], given_name=doc.get("given_name") or "",
                   family_name=doc.get("family_name") or "", sex=doc.get("sex") or "",
                   birth_date=date.fromisoformat(born) if born else None,
                   citizenship=tuple(doc.get("citizenship") or ()), specific_needs=tuple(doc.get("specific_needs") or ()),
                   given_name_latin=doc.get("given_name_latin"), family_name_latin=doc.get("family_name_latin"),
                   registration_number=doc.get("registration_number"))


def applicant_document(person_id: str, **values) -> dict:
    """The stored (unsealed) form of an applicant: JSON values only (the birth date as ISO text)."""
    doc: dict = {"person_id": person_id}
    for key, value in values.items():
        if key not in APPLICANT_FIELDS:
            raise TypeError(f"an applicant has no field {key!r}")
        if key == "birth_date":
            value = value.isoformat() if value is not None else None
        elif key in ("citizenship", "specific_needs"):
            value = list(value)
        doc[key] = value
    return doc


class Applicants:
    """The applicants projection; every field but the person id is sealed (ApplicantDocument)."""

    def __init__(self, session):
        self.session = session

    async def get(self, person_id: str) -> Applicant | None:
        row = await self.session.get(ApplicantRow, person_id)
        return Applicant.from_document(row.document) if row is not None else None

    async def of(self, person_ids) -> dict[str, Applicant]:
        """The applicants known of these persons, by person id (a person rsd never heard of is left out)."""
        wanted = sorted(set(person_ids))[:1000]
        rows = (await self.session.execute(select(ApplicantRow).where(ApplicantRow.person_id.in_(wanted)))).scalars()
        return {row.person_id: Applicant.from_document(row.document) for row in rows}

    async def upsert(self, person_id: str, **values) -> None:
        row = await self.session.get(ApplicantRow, person_id)
        if row is None:
            self.session.add(ApplicantRow(person_id=person_id, document=applicant_document(person_id, **values),
                                          updated_at=_now()))
        else:
            row.document = {**row.document, **applicant_document(person_id, **values)}  # a new dict: marks it changed
            row.updated_at = _now()
