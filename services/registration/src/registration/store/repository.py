"""Loading and saving persons and referrals; every query goes through here."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timezone

from datetime import date

import sqlalchemy
from sqlalchemy import and_, func, or_, select, update

from pana_kit.crypto import Keyring, SealTarget, keyring_of, seal_unsealed
from pana_kit.domain import NotFound, StaleVersion, new_id, new_serial
from pana_kit.paging import InvalidCursor, Key, Keyset, Page

from ..domain import (
    BorderReferral, DuplicateReview, FactKind, Household, IssuedDocument, MatchingConfig, MatchRecord, Person,
    PersonRegistered, PopulationMember, StatusFact, VerificationEntry, document_number, project_legal_status,
)
from ..domain.duplicates import Normalised
from ..domain.names import match_key
from .. import matching_engine
from .statistics import Population
from .tables import (
    BlockingKeyRow, DuplicateReviewRow, HouseholdRow, IssuedDocumentRow, PersonRow, ReferralRow, StatusFactRow,
    VerificationRow,
)

# Bounded candidate query: a blocking key shared by more people than this is too common to help.


def _now() -> datetime:
    return datetime.now(timezone.utc)


NEED_INDEX = "registration:person:specific_need"  # the blind index's context


def need_tag(keyring: Keyring, need: str) -> str:
    """The keyed tag a need is filtered by (the column never holds the need itself)."""
    return keyring.blind_index(need, context=NEED_INDEX)


def needs_column(needs, keyring: Keyring) -> str:
    """Specific needs as `|tag|tag|` (keyed blind index) so that one need is found with LIKE '%|tag|%'."""
    tags = sorted(need_tag(keyring, getattr(n, "value", n)) for n in needs)
    return "|" + "|".join(tags) + "|" if tags else ""


def search_columns(person: Person, keyring: Keyring) -> dict:
    return {"family_name_key": match_key(person.family_name_latin or person.family_name),
            "given_name_key": match_key(person.given_name_latin or person.given_name),
            "birth_date": person.birth_date, "sex": person.sex.value, "iin": person.iin,
            "specific_needs": needs_column(person.specific_needs, keyring)}


# Stored before their personal fields were encrypted (the border statement, specific needs, ethnicity, contacts,
# address were in clear): sealed at start-up, before serving (`pana_kit.crypto.sealing_at_startup`). A person's needs
# column, which held the needs in clear, is replaced by its blind index.
SEALED_AT_REST = (
    SealTarget(PersonRow.__table__, "person_id", what="person(s)",
               also=lambda doc, keyring: {"specific_needs": needs_column(doc.get("specific_needs") or [], keyring)}),
    SealTarget(ReferralRow.__table__, "referral_id", what="referral(s)"),
)


async def upgrade_sealed(session) -> int:
    """Seal the persons and referrals of `SEALED_AT_REST` stored before sealing; idempotent."""
    return sum((await seal_unsealed(session, *SEALED_AT_REST)).values())


class Persons:
    def __init__(self, session, matching: MatchingConfig | None = None):
        self.session = session
        self.matching = matching or MatchingConfig()

    async def get_row(self, person_id: str) -> PersonRow:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            raise NotFound(f"no person {person_id}")
        return row

    async def fresh_row(self, person_id: str) -> PersonRow:
        """The row as this transaction last wrote it (columns other commands keep: status, household)."""
        row = await self.get_row(person_id)
        await self.session.refresh(row)
        return row

    async def find_row(self, person_id: str) -> PersonRow | None:
        return await self.session.get(PersonRow, person_id)

    async def claim_row(self, person_id: str) -> PersonRow | None:
        """A person's row for background work: on PostgreSQL locked, skipping one another instance holds (it
        does the work; the caller re-checks what is due once it has the row)."""
        stmt = select(PersonRow).where(PersonRow.person_id == person_id)
        if self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def load(self, person_id: str) -> tuple[Person, int]:
        row = await self.get_row(person_id)
        return self.person_of(row), row.version

    @staticmethod
    def person_of(row: PersonRow) -> Person:
        person = Person.from_document(row.document)
        person.registration_number, person.office = row.registration_number, row.office
        person.household_id, person.legal_status = row.household_id, row.legal_status
        return person

    async def new_registration_number(self, prefix: str) -> str:
        """A random number nobody holds. On PostgreSQL not probed here: `add` writes the person only if nobody holds
        it (in its one statement) and draws again if somebody does (one round trip less per registration)."""
        if self.session.bind.dialect.name == "postgresql":
            return _random_number(prefix, _now())
        return await self._new_registration_number(prefix, _now())

    async def add(self, person: Person) -> int:
        """Store a newly registered person (its number drawn with `new_registration_number`)."""
        now = _now()
        member = PopulationMember.of(person, None)  # a new person has no status facts yet
        # Core, not the unit of work: the row, its match record and its blocking keys in one statement on PostgreSQL.
        values = dict(
            person_id=person.person_id, registration_number=person.registration_number,
            **search_columns(person, keyring_of(self.session)), office=person.office, household_id=person.household_id,
            version=1, document=person.to_document(), created_at=now, updated_at=now,
            population=member.to_document(),
        )
        record = None if person.merged_into else MatchRecord.of(person)
        while not await matching_engine.insert_indexed(self.session, PersonRow.__table__, values, record, self.matching,
                                                       unique_number="registration_number"):
            # somebody holds the number already (one in 10**8 per person registered): another one, in the row and
            # in what the registration recorded
            values["registration_number"] = number = _random_number(person.registration_number.rsplit("-", 2)[0], now)
            person.registration_number = number
            person.pending_events[:] = [replace(e, registration_number=number) if isinstance(e, PersonRegistered)
                                        else e for e in person.pending_events]
        await Population(self.session).count(None, member)
        return 1

    async def save(self, person: Person, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency).

        A command that recorded nothing changed nothing: the version stays."""
        if not person.pending_events:
            return expected_version
        population = Population(self.session)
        before = await population.member(person.person_id, lock=True)
        if before is not None:
            after = replace(PopulationMember.of(person, None), statuses=before.statuses)
        else:  # never counted (loaded in bulk): its status from its facts
            after = PopulationMember.of(person, project_legal_status(
                person.person_id, await StatusFacts(self.session).of(person.person_id)))
        result = await self.session.execute(
            update(PersonRow)
            .where(PersonRow.person_id == person.person_id, PersonRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), document=person.to_document(),
                    household_id=person.household_id, legal_status=person.legal_status,
                    population=after.to_document(), **search_columns(person, keyring_of(self.session)))
        )
        if result.rowcount != 1:
            raise StaleVersion("the person changed since it was read; read it again and reapply your change")
        await population.count(before, after)
        await self.index(person)
        return expected_version + 1

    async def set_columns(self, person_id: str, **columns) -> None:
        await self.session.execute(update(PersonRow).where(PersonRow.person_id == person_id)
                                   .values(version=PersonRow.version + 1, updated_at=_now(), **columns))

    async def index(self, person: Person, *, new: bool = False) -> None:
        """Replace the person's match record and blocking keys (a merged record leaves the index; a new person has
        none yet)."""
        await self.session.flush()  # the person's row first: the index follows it
        await matching_engine.index_person(self.session, None if person.merged_into else MatchRecord.of(person),
                                           person.person_id, self.matching, new=new)

    async def candidates_for(self, record: MatchRecord) -> tuple[list[Normalised], bool]:
        """Persons sharing a blocking key with `record`, normalised (per key, the nearest in age; bounded), and
        whether a key's bound was reached (then holders beyond it were not compared, and the answer says so)."""
        return await matching_engine.candidate_records(self.session, record, self.matching)

    async def everyone(self) -> list[Person]:
        """The whole register (statistics count it)."""
        return [Person.from_document(d) for d in (await self.session.execute(select(PersonRow.document))).scalars()]

    # Without a name, a search lists in person id order; cursor {"after": id} as issued since search began.
    BY_ID = Keyset(Key("after", PersonRow.person_id))

    async def search(self, *, name_keys: set[str] | None, document_number: str | None, pool: int, cursor: dict | None,
                     limit: int, **columns: str | None) -> Page[PersonRow] | list[PersonRow]:
        """Rows matching every filter given. With `name_keys`, the (unordered, bounded) pool sharing a name key,
        for the caller to rank; else a page in id order."""
        query = select(PersonRow)
        for column, value in columns.items():
            if not value:
                continue
            if column == "specific_need":
                tag = need_tag(keyring_of(self.session), value)
                query = query.where(PersonRow.specific_needs.like(f"%|{tag}|%"))
            else:
                query = query.where(getattr(PersonRow, column) == value)
        if document_number:
            ids = await self.ids_sharing_keys([f"d:{document_number.strip().upper()}"], pool)
            query = query.where(PersonRow.person_id.in_(ids))
        if name_keys is None and cursor and not (isinstance(cursor.get("after"), str) and len(cursor["after"]) <= 64):
            raise InvalidCursor()
        if name_keys is not None:
            ids = await self.ids_sharing_keys(name_keys, pool)
            return list((await self.session.execute(query.where(PersonRow.person_id.in_(ids)))).scalars())
        return await self.BY_ID.page(self.session, query, cursor=cursor, limit=limit)

    async def ids_sharing_keys(self, keys, limit: int) -> list[str]:
        """Person ids indexed under any of `keys`, most shared keys first, at most `limit`."""
        keys = sorted({k[:220] for k in keys})
        if not keys:
            return []
        shared = func.count(BlockingKeyRow.key)
        query = (select(BlockingKeyRow.person_id).where(BlockingKeyRow.key.in_(keys))
                 .group_by(BlockingKeyRow.person_id).order_by(shared.desc(), BlockingKeyRow.person_id).limit(limit))
        return list((await self.session.execute(query)).scalars())

    async def _new_registration_number(self, prefix: str, now: datetime) -> str:
        while True:
            number = _random_number(prefix, now)
            exists = (await self.session.execute(select(PersonRow.person_id).where(PersonRow.registration_number == number))).first()
            if not exists:
                return number


def _random_number(prefix: str, now: datetime) -> str:
    # Random, not sequential: a number must not reveal how many people registered before.
    return f"{prefix}-{now:%y}-{secrets.randbelow(10**8):08d}"


class Referrals:
    def __init__(self, session):
        self.session = session

    # Cursor keys as issued since the list began: {"due", "id"}.
    ORDER = Keyset(Key("due", ReferralRow.registration_due), Key("id", ReferralRow.referral_id))

    async def add(self, referral: BorderReferral) -> int:
        self.session.add(ReferralRow(
            referral_id=referral.referral_id, person_id=referral.person_id, crossing_point=referral.crossing_point,
            referred_at=referral.referred_at, registration_due=referral.registration_due,
            registered_at=referral.registered_at, late=referral.late, document=referral.to_document(),
        ))
        return 1

    async def page(self, *, overdue: bool, registered: bool | None, today: date, cursor: dict | None,
                   limit: int) -> Page[BorderReferral]:
        """By due date; `overdue`: not registered and past the due date."""
        query = select(ReferralRow)
        if overdue:
            query = query.where(ReferralRow.person_id.is_(None), ReferralRow.registration_due < today)
        if registered is True:
            query = query.where(ReferralRow.person_id.is_not(None))
        elif registered is False:
            query = query.where(ReferralRow.person_id.is_(None))
        page = await self.ORDER.page(self.session, query, cursor=cursor, limit=limit)
        return Page([BorderReferral.from_document(row.document) for row in page.items], page.next_cursor)


class DuplicateReviews:
    """The review queue; a review's version is its state (its ETag names the state it was read in)."""

    # Cursor keys as issued since the queue began: {"t", "id"}.
    ORDER = Keyset(Key("t", DuplicateReviewRow.created_at), Key("id", DuplicateReviewRow.review_id))

    def __init__(self, session):
        self.session = session

    async def find(self, review_id: str) -> DuplicateReviewRow | None:
        return await self.session.get(DuplicateReviewRow, review_id)

    async def load(self, review_id: str) -> tuple[DuplicateReview, str]:
        row = await self.find(review_id)
        if row is None:
            raise NotFound(f"no duplicate review {review_id}")
        return DuplicateReview(row.review_id, row.person_id, row.candidate_person_id, row.state), row.state

    async def save(self, review: DuplicateReview, expected_state: str) -> str:
        result = await self.session.execute(update(DuplicateReviewRow).where(
            DuplicateReviewRow.review_id == review.review_id, DuplicateReviewRow.state == expected_state)
            .values(state=review.state))
        if result.rowcount != 1:
            raise StaleVersion("the review changed since it was read; read it again")
        return review.state

    async def merged(self, a: str, b: str) -> None:
        """The pair's open reviews, either way round, end as merged."""
        pair = or_(and_(DuplicateReviewRow.person_id == a, DuplicateReviewRow.candidate_person_id == b),
                   and_(DuplicateReviewRow.person_id == b, DuplicateReviewRow.candidate_person_id == a))
        await self.session.execute(update(DuplicateReviewRow).where(pair, DuplicateReviewRow.state == "open")
                                   .values(state="merged"))

    async def page(self, *, state: str, person_id: str | None, cursor: dict | None,
                   limit: int) -> Page[DuplicateReviewRow]:
        """Oldest first."""
        query = select(DuplicateReviewRow).where(DuplicateReviewRow.state == state)
        if person_id:
            query = query.where(or_(DuplicateReviewRow.person_id == person_id,
                                    DuplicateReviewRow.candidate_person_id == person_id))
        return await self.ORDER.page(self.session, query, cursor=cursor, limit=limit)

    def add_found(self, person_id: str, found, likely, *, override_reason: str | None, now: datetime) -> None:
        """Queue every candidate for review; the likely duplicates an officer overrode are closed as such."""
        for c in found:
            self.session.add(DuplicateReviewRow(
                review_id=new_id(), person_id=person_id, candidate_person_id=c.person_id,
                score=c.score, reasons=list(c.reasons), state="overridden" if c in likely else "open",
                override_reason=override_reason if c in likely else None, created_at=now))


class Households:
    def __init__(self, session):
        self.session = session

    async def find_row(self, household_id: str) -> HouseholdRow | None:
        return await self.session.get(HouseholdRow, household_id)

    async def load(self, household_id: str) -> tuple[Household, int]:
        row = await self.session.get(HouseholdRow, household_id)
        if row is None:
            raise NotFound(f"no household {household_id}")
        return Household.from_document(row.document), row.version

    async def add(self, household: Household) -> int:
        now = _now()
        self.session.add(HouseholdRow(household_id=household.household_id, focal_person_id=household.focal_person_id,
                                      version=1, document=household.to_document(), created_at=now, updated_at=now))
        return 1

    async def save(self, household: Household, expected_version: int) -> int:
        result = await self.session.execute(
            update(HouseholdRow)
            .where(HouseholdRow.household_id == household.household_id, HouseholdRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), focal_person_id=household.focal_person_id,
                    document=household.to_document())
        )
        if result.rowcount != 1:
            raise StaleVersion("the household changed since it was read; read it again and reapply your change")
        return expected_version + 1


# Arrival order (sequence, then the time recorded for facts stored before sequences were assigned); never the
# database's physical order, which PostgreSQL does not keep.
_FACT_ORDER = (StatusFactRow.occurred_on, StatusFactRow.sequence, StatusFactRow.recorded_at,
               StatusFactRow.source_event_id)


class StatusFacts:
    """The facts behind legal status; the projection is rebuilt from them, never edited."""

    def __init__(self, session):
        self.session = session

    async def add(self, person_id: str, fact: StatusFact) -> bool:
        """Store a fact once (by its source id); False when it was already known."""
        if await self.session.get(StatusFactRow, (fact.source_event_id, person_id)) is not None:
            return False
        # Facts of one day replay in the order registration learned them: each procedure's events arrive in
        # order (one partition per aggregate), so a case opened and determined on one day is never replayed
        # as determined-then-opened, whatever order the database returns rows in.
        last = (await self.session.execute(select(func.max(StatusFactRow.sequence))
                                           .where(StatusFactRow.person_id == person_id))).scalar()
        self.session.add(StatusFactRow(source_event_id=fact.source_event_id, person_id=person_id,
                                       kind=fact.kind.value, occurred_on=fact.occurred_on,
                                       sequence=max(fact.sequence, -1 if last is None else last + 1),
                                       recorded_at=_now()))
        await self.session.flush()
        return True

    async def known_on(self, on: date) -> dict[str, list[StatusFact]]:
        """Every person's facts that had happened by `on` (for statistics)."""
        facts: dict[str, list[StatusFact]] = {}
        rows = (await self.session.execute(select(StatusFactRow).where(StatusFactRow.occurred_on <= on)
                                           .order_by(*_FACT_ORDER))).scalars()
        for r in rows:
            facts.setdefault(r.person_id, []).append(StatusFact(FactKind(r.kind), r.occurred_on, r.source_event_id,
                                                                r.sequence))
        return facts

    async def of(self, person_id: str) -> list[StatusFact]:
        rows = (await self.session.execute(select(StatusFactRow).where(StatusFactRow.person_id == person_id)
                                           .order_by(*_FACT_ORDER))).scalars()
        return [StatusFact(FactKind(r.kind), r.occurred_on, r.source_event_id, r.sequence) for r in rows]


class VerificationIndex:
    """The verification projection (`VerificationRow`): written with the documents (`IssuedDocuments.add`/`save`,
    in their transaction), read by one Core statement on a pooled connection, no ORM session."""

    TABLE = VerificationRow.__table__
    _COLUMNS = ("document_number", "kind", "state", "expires_on", "holder_birth_date", "revocation_reason")
    _LOOKUP = select(*TABLE.c).where(TABLE.c.document_number.in_(sqlalchemy.bindparam("numbers", expanding=True)))

    @staticmethod
    def values(document: IssuedDocument) -> dict:
        entry = VerificationEntry.of(document)
        return {name: getattr(entry, name) for name in VerificationIndex._COLUMNS}

    # PostgreSQL: the same lookup on a held connection (`Database.held`), prepared once; a quarter of the CPU of
    # a verification was the pooled SQLAlchemy read (issue 16). Not cached: a revoked document stops verifying
    # with the next read, because every read asks the projection its revocation commits to.
    _LOOKUP_PG = ("SELECT document_number, kind, state, expires_on, holder_birth_date, revocation_reason "
                  "FROM verification_index WHERE document_number = ANY($1::varchar[])")

    @classmethod
    async def fetch(cls, db, numbers: list[str]) -> dict[str, VerificationEntry]:
        """One statement: on PostgreSQL on the held connection "verification", on SQLite on the database's read
        engine (`Database.read_all`: autocommit, no ping)."""
        if db.is_sqlite:
            rows = await db.read_all(cls._LOOKUP, {"numbers": numbers})
            return {row.document_number: VerificationEntry(**row._mapping) for row in rows}
        rows = await db.held("verification").fetch(cls._LOOKUP_PG, numbers)
        return {row[0]: VerificationEntry(*row) for row in rows}

    # SQLite: the same lookup read at once on the event loop's thread (`Database.point_read`: no thread hop, a
    # read transaction of its own begun now, so a revocation committed before the request is seen).
    _LOOKUP_SQLITE = ("SELECT document_number, kind, state, expires_on, holder_birth_date, revocation_reason "
                      "FROM verification_index WHERE document_number = ?")

    @classmethod
    async def lookup(cls, db, number: str) -> VerificationEntry | None:
        """The entry of one number. On PostgreSQL, lookups that arrive while one is in flight share the next
        statement (`pana_kit.db.Coalesced`, one per database): eight concurrent checks, one round trip. On SQLite,
        a point read now, else (an in-memory database, a locked file) the coalesced read through aiosqlite."""
        if db.is_sqlite:
            rows = db.point_read(cls._LOOKUP_SQLITE, (number,))
            if rows is not None:
                return cls._sqlite_entry(rows[0]) if rows else None
        return await db.coalesced("verification", lambda numbers: cls.fetch(db, numbers)).get(number)

    @staticmethod
    def _sqlite_entry(row: tuple) -> VerificationEntry:
        """A row as SQLAlchemy's SQLite `Date` stores it (ISO text), as the SQLAlchemy read returns it."""
        number, kind, state, expires_on, birth, reason = row
        return VerificationEntry(number, kind, state, date.fromisoformat(expires_on),
                                 date.fromisoformat(birth) if birth is not None else None, reason)


class IssuedDocuments:
    def __init__(self, session, *, source_key: str | None = None):
        self.session = session
        self.source_key = source_key  # the request a new document answers (issued once per request)

    async def new_number(self, kind: str, year: int) -> str:
        # Random serial, not sequential: a number must not lead to its neighbours.
        while True:
            number = document_number(kind, year, new_serial(10**7))
            if not (await self.session.execute(select(IssuedDocumentRow.document_id)
                                               .where(IssuedDocumentRow.document_number == number))).first():
                return number

    async def issued_for(self, source_key: str) -> bool:
        return (await self.session.execute(select(IssuedDocumentRow.document_id)
                                           .where(IssuedDocumentRow.source_event_id == source_key))).first() is not None

    async def by_number(self, number: str) -> IssuedDocument | None:
        row = (await self.session.execute(select(IssuedDocumentRow)
                                          .where(IssuedDocumentRow.document_number == number))).scalar_one_or_none()
        return self._document(row) if row else None

    async def find(self, document_id: str) -> IssuedDocument | None:
        row = await self.session.get(IssuedDocumentRow, document_id)
        return self._document(row) if row else None

    # A person's documents, oldest first; cursor keys as issued since the list began: {"t", "id"}.
    BY_ISSUE = Keyset(Key("t", IssuedDocumentRow.created_at), Key("id", IssuedDocumentRow.document_id))

    async def page_of(self, person_id: str, *, cursor: dict | None, limit: int) -> Page[IssuedDocument]:
        """Every document issued to the person (valid, revoked, expired), a page at a time."""
        query = select(IssuedDocumentRow).where(IssuedDocumentRow.holder_person_id == person_id)
        page = await self.BY_ISSUE.page(self.session, query, cursor=cursor, limit=limit)
        return Page([self._document(row) for row in page.items], page.next_cursor)

    async def for_change(self, document_id: str) -> IssuedDocument | None:
        """A document an officer renews or replaces, locked (PostgreSQL) so two requests cannot both renew it."""
        stmt = select(IssuedDocumentRow).where(IssuedDocumentRow.document_id == document_id)
        if self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return self._document(row) if row else None

    async def stateless_without_certificate(self, *, born_by: date, limit: int, after_id: str = "") -> list[str]:
        """Ids (in order, after `after_id`) of persons with a statelessness determination, born by `born_by`,
        who hold no stateless person's certificate that is not revoked: the daily pass's candidates (the
        domain decides, `stateless_certificate_due`)."""
        held = (select(IssuedDocumentRow.document_id)
                .where(IssuedDocumentRow.holder_person_id == PersonRow.person_id,
                       IssuedDocumentRow.kind == "stateless_person_certificate",
                       IssuedDocumentRow.state == "issued").exists())
        determined = (select(StatusFactRow.person_id)
                      .where(StatusFactRow.person_id == PersonRow.person_id,
                             StatusFactRow.kind == FactKind.STATELESSNESS_DETERMINED.value).exists())
        stmt = (select(PersonRow.person_id)
                .where(PersonRow.birth_date.is_not(None), PersonRow.birth_date <= born_by,
                       PersonRow.person_id > after_id, determined, ~held)
                .order_by(PersonRow.person_id).limit(limit))
        return list((await self.session.execute(stmt)).scalars())

    async def live_of(self, person_id: str) -> list[IssuedDocument]:
        rows = (await self.session.execute(select(IssuedDocumentRow).where(
            IssuedDocumentRow.holder_person_id == person_id, IssuedDocumentRow.state == "issued"))).scalars()
        return [self._document(row) for row in rows]

    async def add(self, document: IssuedDocument) -> int:
        document.document_id = new_id()
        self.session.add(IssuedDocumentRow(
            document_id=document.document_id, document_number=document.document_number, kind=document.kind.value,
            holder_person_id=document.holder_person_id, state=document.state.value, source_event_id=self.source_key,
            document=document.to_document(), created_at=_now()))
        await self.session.execute(VerificationIndex.TABLE.insert().values(VerificationIndex.values(document)))
        return 1

    async def save(self, document: IssuedDocument) -> None:
        row = await self.session.get(IssuedDocumentRow, document.document_id)
        row.state, row.document = document.state.value, document.to_document()
        table = VerificationIndex.TABLE
        await self.session.execute(table.update().where(table.c.document_number == document.document_number)
                                   .values(VerificationIndex.values(document)))

    @staticmethod
    def _document(row: IssuedDocumentRow) -> IssuedDocument:
        document = IssuedDocument.from_document(row.document)
        document.document_id = row.document_id
        return document
