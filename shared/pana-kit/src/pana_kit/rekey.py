"""Re-encryption after a key rotation: every sealed value of a service moved under the active key
(`pana keys reencrypt`), so the old key can then be retired (`pana keys retire`).

A service names where it keeps sealed values as `SealedPlace`s, through the `pana.sealed` entry point
(`<package>.store.tables:sealed_places`): the `SealedDocument` columns of its tables are found by
`sealed_document_places`; values sealed another way (rsd's claim texts in three columns, statelessness's case
documents) are places the service writes itself. The kit adds its own dead letters' payloads.

`reencrypt` walks each place by id in batches, one short transaction each, locking the batch's rows (PostgreSQL
`FOR UPDATE`; SQLite takes the write lock first), so a request changing a row meanwhile waits, and no write is
lost. A value already under the active key is left alone (nothing decrypted): running it again, or after an
interruption, only does what is left. `dry_run` counts what it would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import JSON, select, text, type_coerce, update

from .crypto import SEALED_MARK, Keyring, Sealed, SealedDocument, is_token
from .db import Database


@dataclass(frozen=True)
class SealedPlace:
    """Where one kind of sealed value lives: `table`'s rows by `id_column`; `key_ids(row)` names the keys a row's
    values use now, `reseal(row, keyring)` gives the columns to write so they use the active key. `row` maps each of
    `columns` (read as stored: a SealedDocument column as its raw JSON) to its value."""

    name: str
    table: Any
    id_column: str
    columns: tuple[str, ...]
    key_ids: Callable[[Mapping[str, Any]], set[str]]
    reseal: Callable[[Mapping[str, Any], Keyring], dict[str, Any]]


def _token_key(value: Any) -> str | None:
    return Sealed.parse(value).key_id if is_token(value) else None


def sealed_document_places(metadata, *, only: Iterable[str] | None = None) -> list[SealedPlace]:
    """A place for every `SealedDocument` column of `metadata`'s tables (whose primary key is one column)."""
    places = []
    for table in metadata.sorted_tables:
        if only is not None and table.name not in only:
            continue
        for column in table.columns:
            if not isinstance(column.type, SealedDocument):
                continue
            doc_type: SealedDocument = column.type
            (pk,) = list(table.primary_key.columns)

            def key_ids(row, *, _t=doc_type, _c=column.name) -> set[str]:
                doc = row[_c]
                if not isinstance(doc, dict) or doc.get(SEALED_MARK) != 1:
                    return set()  # not sealed yet: the service's start-up upgrade seals it (with the active key)
                return {k for container, key, _ in _t._places(doc) if (k := _token_key(container[key]))}

            def reseal(row, keyring, *, _t=doc_type, _c=column.name) -> dict:
                return {_c: _t.open(row[_c], keyring)}  # written through the column's type: sealed anew

            places.append(SealedPlace(f"{table.name}.{column.name}", table, pk.name, (column.name,), key_ids, reseal))
    return places


def dead_letter_place(service: str) -> SealedPlace:
    from .dead_letters import payload_context
    from .tables import DeadLetter

    def context(row) -> str:
        return payload_context(service, row["consumer_group"], row["topic"], row["partition"], row["offset"])

    def key_ids(row) -> set[str]:
        k = _token_key(row["payload"])
        return {k} if k else set()

    def reseal(row, keyring) -> dict:
        return {"payload": keyring.reencrypt(row["payload"], context=context(row))}

    return SealedPlace("dead_letters.payload", DeadLetter.__table__, "id",
                       ("payload", "consumer_group", "topic", "partition", "offset"), key_ids, reseal)


def service_places(service: str) -> list[SealedPlace]:
    """The service's places (its `pana.sealed` entry point) and the kit's dead letters."""
    from importlib.metadata import entry_points

    places: list[SealedPlace] = []
    for ep in entry_points(group="pana.sealed"):
        if ep.name == service:
            places.extend(ep.load()())
    return [*places, dead_letter_place(service)]


@dataclass
class Progress:
    place: str
    scanned: int = 0
    resealed: int = 0  # with dry_run: would be


def _raw(column):
    return type_coerce(column, JSON) if isinstance(column.type, SealedDocument) else column


async def reencrypt_place(db: Database, keyring: Keyring, place: SealedPlace, *, batch_size: int = 200,
                          dry_run: bool = False, progress: Callable[[Progress], None] | None = None) -> Progress:
    table = place.table
    id_col = table.c[place.id_column]
    selected = [id_col.label("__id"), *(_raw(table.c[name]).label(name) for name in place.columns)]
    active = keyring.active
    done = Progress(place.name)
    last = None
    while True:
        async with db.transaction() as session:
            if db.is_sqlite and not dry_run:  # the write lock before reading: nobody changes the batch under us
                await session.execute(text(f'UPDATE "{table.name}" SET "{place.id_column}" = "{place.id_column}" '
                                           "WHERE 0 = 1"))
            stmt = select(*selected).order_by(id_col).limit(batch_size)
            if last is not None:
                stmt = stmt.where(id_col > last)
            if not db.is_sqlite and not dry_run:
                stmt = stmt.with_for_update(of=table)
            rows = (await session.execute(stmt)).mappings().all()
            if not rows:
                return done
            for row in rows:
                done.scanned += 1
                if place.key_ids(row) - {active}:
                    done.resealed += 1
                    if not dry_run:
                        await session.execute(update(table).where(id_col == row["__id"])
                                              .values(place.reseal(row, keyring)))
            last = rows[-1]["__id"]
        if progress is not None:
            progress(done)


async def reencrypt(db: Database, keyring: Keyring, places: list[SealedPlace], *, batch_size: int = 200,
                    dry_run: bool = False, progress: Callable[[Progress], None] | None = None) -> list[Progress]:
    """Every place in turn; what each scanned and re-sealed (or, with `dry_run`, would)."""
    return [await reencrypt_place(db, keyring, place, batch_size=batch_size, dry_run=dry_run, progress=progress)
            for place in places]

