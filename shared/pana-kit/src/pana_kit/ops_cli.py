"""The operator's day-to-day commands of `pana` (added to the parser by pana_kit.cli):

  pana dlq list --service S [--status dead|replay|replayed] [--topic T] [--type T] [--since T] [--until T]
                [--reason-contains X] [--limit N] [--after ID] [--json]
  pana dlq show --service S ID [--reveal --purpose WHY [--operator NAME]] [--json]
  pana dlq replay --service S (--id ID ... | --all [filters]) [--dry-run]
  pana outbox status [--service S] [--json]
  pana keys reencrypt --service S [--dry-run] [--batch N]
  pana migrations upgrade [--service S] [--revision R]
  pana migrations current [--service S] [--check]
  pana retention prune [--service S] [--dry-run] [--outbox-days N] [--inbox-days N] [--idempotency-hours N]

Without --service, `outbox status`, `migrations` and `retention prune` go over every service whose database is
there. Bad input (an unknown id, a missing database or keyring, a period inside a promise) is refused with a
message and exit code 2; a command that finds trouble (`migrations current --check` behind) exits 1.
The runbook is docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime, timezone

from .roles import SERVICES


class BadInput(Exception):
    """Refused before anything changes: printed as `error: ...`, exit code 2."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _guarded(func):
    def run(args) -> int:
        try:
            return func(args)
        except BadInput as exc:
            return _fail(str(exc))

    run.__name__ = func.__name__
    return run


def _service_settings(service: str):
    """The service's settings as its process reads them (its prefix), without importing the service."""
    from pydantic_settings import SettingsConfigDict

    from .settings import ENV_PREFIX, ServiceSettings

    cls = type(f"{service.title().replace('-', '')}OpsSettings", (ServiceSettings,),
               {"model_config": SettingsConfigDict(extra="ignore", env_prefix=ENV_PREFIX[service])})
    return cls(service_name=service)


def _url(service: str, given: str | None, *, must_exist: bool = True) -> str:
    from .cli import _database_urls, _sqlite_missing

    if given:
        from .settings import ServiceSettings

        url = ServiceSettings(service_name=service, database_url=given).resolved_database_url()
    else:
        url = _database_urls(None)[service]
    if must_exist and _sqlite_missing(url):
        raise BadInput(f"no database for {service} at {url} (set {service}'s DATABASE_URL or pass --database-url)")
    return url


def _services(args, *, must_exist: bool = True) -> dict[str, str]:
    """--service S (its database must be there), else every service whose database is there."""
    from .cli import _sqlite_missing

    if args.service:
        return {args.service: _url(args.service, args.database_url, must_exist=must_exist)}
    if args.database_url:
        raise BadInput("--database-url needs --service")
    found = {s: _url(s, None, must_exist=False) for s in SERVICES}
    found = {s: u for s, u in found.items() if not (must_exist and _sqlite_missing(u))}
    if not found:
        raise BadInput("no service database found (set <SERVICE>_DATABASE_URL or pass --service and --database-url)")
    return found


def _keyring(args):
    from .cli import _keyring_path
    from .crypto import Keyring, KeyringError

    path = _keyring_path(args)
    try:
        return Keyring.from_file(path)
    except (KeyringError, OSError, ValueError) as exc:
        raise BadInput(f"cannot load {args.service}'s keyring from {path}: {exc}") from None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value).isoformat()


def _age(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (datetime.now(timezone.utc) - (value.replace(tzinfo=timezone.utc) if value.tzinfo is None
                                             else value)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def _run(coro):
    return asyncio.run(coro)


# -- dlq -----------------------------------------------------------------------------------------------------------

def _filter(args):
    from .cli import _consumer_groups
    from .dead_letters import Filter

    return Filter(group=args.group or _consumer_groups()[args.service], status=getattr(args, "status", None),
                  topic=args.topic, event_type=args.type, since=args.since, until=args.until,
                  reason_contains=args.reason_contains, ids=list(getattr(args, "id", None) or []))


@_guarded
def _dlq_list(args) -> int:
    from . import dead_letters
    from .db import Database

    url = _url(args.service, args.database_url)
    flt = _filter(args)

    async def go():
        db = Database(url)
        try:
            return await dead_letters.page(db, flt, after=args.after, limit=args.limit), await dead_letters.count(db, flt)
        finally:
            await db.dispose()

    try:
        (rows, next_after), total = _run(go())
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    for row in rows:
        if args.json:
            print(json.dumps({"id": row.id, "status": row.status, "failed_at": _iso(row.failed_at), "topic": row.topic,
                              "partition": row.partition, "offset": row.offset, "event_id": row.event_id,
                              "type": row.event_type, "reason": row.reason, "replays": row.replays,
                              "outcome": row.outcome}))
        else:
            print(f"{row.id:>6}  {row.status:<8}  {_iso(row.failed_at)}  {row.topic}[{row.partition}]@{row.offset}  "
                  f"{row.event_type or '-'}  {row.event_id or '-'}  {row.reason[:160]}")
    if not args.json:
        print(f"{total} dead letter(s) of group {flt.group} match; {len(rows)} shown", file=sys.stderr)
    if next_after is not None:
        print(f"next page: --after {next_after}", file=sys.stderr)
    return 0


@_guarded
def _dlq_show(args) -> int:
    from . import audit, dead_letters
    from .auth import Principal
    from .crypto import KeyringError, attach_keyring, is_token
    from .db import Database

    if args.reveal and not (args.purpose or "").strip():
        raise BadInput("--reveal shows personal data: say why with --purpose (it is written to the audit log)")
    operator = (args.operator or os.environ.get("USER") or "").strip()
    if args.reveal and not operator:
        raise BadInput("--reveal needs the operator's name: --operator NAME (or $USER)")
    url = _url(args.service, args.database_url)

    async def go():
        db = Database(url)
        try:
            row = await dead_letters.get(db, args.id)
            if row is None:
                return None, None
            keyring = None
            if is_token(row.payload):
                keyring = _keyring(args)
                attach_keyring(db.engine, keyring)
            value = dead_letters.open_payload(row, keyring, args.service)
            if args.reveal:  # the reading is on the record before anything is shown
                db.use_audit_key(audit.AuditKey.of(keyring or _keyring(args)))
                async with db.transaction() as session:
                    who = Principal(subject=operator[:200], client_id="pana-cli", roles=("operator",),
                                    scopes=frozenset())
                    await audit.record(session, who, "dead_letter.reveal", f"dead_letter/{row.id}",
                                       purpose=args.purpose.strip()[:300], service=args.service)
            return row, value
        finally:
            await db.dispose()

    try:
        row, value = _run(go())
    except KeyringError as exc:
        raise BadInput(f"the payload cannot be opened: {exc}") from None
    if row is None:
        raise BadInput(f"no dead letter {args.id} in {args.service}")
    headers = dead_letters.decode_headers(row.headers)
    shown: dict = {"id": row.id, "status": row.status, "group": row.consumer_group, "topic": row.topic,
                   "partition": row.partition, "offset": row.offset, "event_id": row.event_id, "type": row.event_type,
                   "failed_at": _iso(row.failed_at), "reason": row.reason, "replays": row.replays,
                   "outcome": row.outcome, "replayed_at": _iso(row.replayed_at)}
    if args.reveal:
        shown["headers"] = {name: raw.decode("utf-8", errors="replace") for name, raw in headers}
        try:
            shown["payload"] = json.loads(value)
        except ValueError:
            shown["payload"] = value
    else:
        shown["payload_redacted"] = dead_letters.redact(value, headers)
    print(json.dumps(shown, indent=None if args.json else 2, ensure_ascii=False))
    if not args.reveal:
        print("personal data redacted; --reveal --purpose WHY shows it (and records the reading in the audit log)",
              file=sys.stderr)
    return 0


@_guarded
def _dlq_replay(args) -> int:
    from . import dead_letters
    from .db import Database

    if not args.id and not args.all:
        raise BadInput("name the dead letters: --id ID (repeatable), or --all with filters (--topic, --type, "
                       "--since, --until, --reason-contains)")
    if args.id and args.all:
        raise BadInput("--id and --all exclude each other")
    url = _url(args.service, args.database_url)
    flt = _filter(args)
    flt.status = "dead"

    async def go():
        db = Database(url)
        try:
            if args.id:
                found = {r.id: r for r in (await dead_letters.page(db, dead_letters.Filter(ids=flt.ids), limit=1000))[0]}
                missing = [i for i in flt.ids if i not in found]
                if missing:
                    raise BadInput(f"no dead letter {', '.join(map(str, missing))} in {args.service}")
                waiting = [i for i in flt.ids if found[i].status == "dead"]
                if not waiting:
                    raise BadInput(f"dead letter(s) {', '.join(map(str, flt.ids))} are not waiting (status "
                                   f"{', '.join(sorted({r.status for r in found.values()}))}): nothing to replay")
                flt.ids = waiting
            if args.dry_run:
                return await dead_letters.count(db, flt)
            return await dead_letters.request_replay(db, flt)
        finally:
            await db.dispose()

    count = _run(go())
    if args.dry_run:
        print(f"{count} waiting dead letter(s) of {args.service} match (dry run: nothing marked)")
    else:
        print(f"{count} dead letter(s) of {args.service} marked for replay: the service's consumer delivers them "
              f"again within {_service_settings(args.service).dead_letter_replay_interval_s:g} s (its inbox ignores "
              "what it already has); `pana dlq list --status replayed` shows the outcome")
    return 0


# -- outbox status ---------------------------------------------------------------------------------------------------

@_guarded
def _outbox_status(args) -> int:
    from . import dead_letters
    from .cli import _consumer_groups
    from .db import Database
    from .delivery import outbox_status

    urls = _services(args)

    async def one(service, url):
        db = Database(url)
        try:
            status = await outbox_status(db)
            waiting = await dead_letters.count(db, dead_letters.Filter(group=_consumer_groups()[service], status="dead"))
            return status, waiting
        finally:
            await db.dispose()

    for service, url in urls.items():
        try:
            status, waiting = _run(one(service, url))
        except Exception as exc:  # a database not migrated yet, or not reachable
            print(f"{service}: cannot read the outbox ({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps({"service": service, "backlog": status.backlog,
                              "oldest_unsent": _iso(status.oldest_unsent),
                              "oldest_unsent_age_s": (status.oldest_age().total_seconds()
                                                      if status.oldest_unsent else None),
                              "last_sent": _iso(status.last_sent), "sent_kept": status.sent_kept,
                              "dead_letters_waiting": waiting}))
        else:
            print(f"{service}: backlog {status.backlog} unsent (oldest {_age(status.oldest_unsent)} old), last sent "
                  f"{_iso(status.last_sent) or 'never'} ({_age(status.last_sent)} ago), {status.sent_kept} sent rows "
                  f"kept, {waiting} dead letter(s) waiting")
    return 0


# -- keys reencrypt --------------------------------------------------------------------------------------------------

@_guarded
def _keys_reencrypt(args) -> int:
    from .crypto import attach_keyring
    from .db import Database
    from .rekey import reencrypt, service_places

    if args.batch < 1 or args.batch > 10_000:
        raise BadInput("--batch must be between 1 and 10000")
    url = _url(args.service, args.database_url)
    keyring = _keyring(args)
    places = service_places(args.service)

    def progress(p) -> None:
        verb = "would re-seal" if args.dry_run else "re-sealed"
        print(f"  {p.place}: {p.scanned} scanned, {p.resealed} {verb}", flush=True)

    async def go():
        db = Database(url)
        attach_keyring(db.engine, keyring)
        try:
            return await reencrypt(db, keyring, places, batch_size=args.batch, dry_run=args.dry_run, progress=progress)
        finally:
            await db.dispose()

    print(f"{args.service}: re-sealing under the active key {keyring.active} "
          f"({', '.join(p.name for p in places)}){' — dry run' if args.dry_run else ''}", flush=True)
    results = _run(go())
    total = sum(p.resealed for p in results)
    if args.dry_run:
        print(f"dry run: {total} row(s) of {sum(p.scanned for p in results)} use an older key and would be re-sealed")
    else:
        print(f"done: {total} row(s) re-sealed under {keyring.active}; every value now uses it, so older keys may be "
              "retired (`pana keys retire`) once no instance writes with them")
    return 0


# -- migrations ------------------------------------------------------------------------------------------------------

@_guarded
def _migrations(args) -> int:
    from .migrations import current_revisions, head_revisions, packaged_migrations, upgrade

    urls = _services(args, must_exist=args.migrations_command == "current")
    behind = 0
    for service, url in urls.items():
        directory = packaged_migrations(service.replace("-", "_"))
        heads = head_revisions(directory)
        if args.migrations_command == "upgrade":
            if args.revision != "head" and args.revision not in heads and not _known(directory, args.revision):
                raise BadInput(f"{service} has no revision {args.revision!r}")
            before = current_revisions(url)
            upgrade(directory, url, args.revision)
            print(f"{service}: {', '.join(before) or 'empty'} -> {', '.join(current_revisions(url))}")
        else:
            now = current_revisions(url)
            state = "up to date" if set(now) == set(heads) else "BEHIND"
            behind += state == "BEHIND"
            print(f"{service}: at {', '.join(now) or 'nothing (empty database)'}; head {', '.join(heads)} ({state})")
    return 1 if behind and getattr(args, "check", False) else 0


def _known(directory, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from .migrations import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config(directory, "")).get_revision(revision) is not None
    except CommandError:
        return False


# -- retention ---------------------------------------------------------------------------------------------------------

@_guarded
def _retention(args) -> int:
    from .db import Database
    from .retention import Policy, due, prune

    urls = _services(args)
    for service, url in urls.items():
        settings = _service_settings(service)
        policy = Policy(args.outbox_days or settings.outbox_retention_days,
                        args.inbox_days or settings.inbox_retention_days,
                        args.idempotency_hours or settings.idempotency_ttl_hours)
        try:
            policy.check(settings.idempotency_ttl_hours)
        except ValueError as exc:
            raise BadInput(f"{service}: {exc}") from None

        async def go():
            db = Database(url)
            try:
                return await (due(db, policy) if args.dry_run else prune(db, policy))
            finally:
                await db.dispose()

        result = _run(go())
        verb = "would prune" if args.dry_run else "pruned"
        if args.json:
            print(json.dumps({"service": service, "dry_run": args.dry_run, "outbox": result.outbox,
                              "inbox": result.inbox, "idempotency": result.idempotency,
                              "policy": vars(policy)}))
        else:
            print(f"{service}: {verb} {result.outbox} sent outbox rows (> {policy.outbox_days} d), {result.inbox} "
                  f"inbox rows (> {policy.inbox_days} d), {result.idempotency} idempotency keys "
                  f"(> {policy.idempotency_hours} h); unsent outbox rows are never pruned")
    return 0


# -- the parser --------------------------------------------------------------------------------------------------------

def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _filters(cmd) -> None:
    from .cli import _when

    cmd.add_argument("--topic", default=None)
    cmd.add_argument("--type", default=None, help="event type")
    cmd.add_argument("--since", default=None, type=_when, help="failed at or after: ISO time or span back (24h)")
    cmd.add_argument("--until", default=None, type=_when)
    cmd.add_argument("--reason-contains", default=None)
    cmd.add_argument("--group", default=None, help="consumer group; default <PREFIX>CONSUMER_GROUP or the service name")


def _common(cmd, *, service_required: bool) -> None:
    cmd.add_argument("--service", required=service_required, default=None, choices=SERVICES)
    cmd.add_argument("--database-url", default=None, help="default: <PREFIX>DATABASE_URL, else var/<service>.db")


def add_dlq(sub) -> None:
    dlq = sub.add_parser("dlq", help="dead letters: list, show (redacted), replay through the consumer")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = dlq_sub.add_parser("list", help="dead letters, newest first, with their reasons")
    _common(listing, service_required=True)
    _filters(listing)
    listing.add_argument("--status", default=None, choices=("dead", "replay", "replayed"))
    listing.add_argument("--limit", type=_positive, default=50)
    listing.add_argument("--after", type=int, default=None, help="from the previous page's 'next page' line")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_dlq_list)

    show = dlq_sub.add_parser("show", help="one dead letter; its payload redacted unless --reveal")
    _common(show, service_required=True)
    show.add_argument("id", type=int)
    show.add_argument("--reveal", action="store_true", help="show the payload as it is (audited; needs --purpose)")
    show.add_argument("--purpose", default=None)
    show.add_argument("--operator", default=None, help="who reads it (default $USER); written to the audit log")
    show.add_argument("--keyring-file", default=None)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_dlq_show)

    replay = dlq_sub.add_parser("replay", help="deliver dead letters again through the service's consumer")
    _common(replay, service_required=True)
    replay.add_argument("--id", type=int, action="append", default=None)
    replay.add_argument("--all", action="store_true", help="every waiting dead letter matching the filters")
    _filters(replay)
    replay.add_argument("--dry-run", action="store_true", help="count what would be replayed")
    replay.set_defaults(func=_dlq_replay)


def add_outbox_status(outbox_sub) -> None:
    status = outbox_sub.add_parser("status", help="backlog, oldest unsent age, last send (every service by default)")
    _common(status, service_required=False)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_outbox_status)


def add_keys_reencrypt(keys_sub) -> None:
    cmd = keys_sub.add_parser("reencrypt", help="re-seal every sealed value under the active key (after a rotation)")
    _common(cmd, service_required=True)
    cmd.add_argument("--keyring-file", default=None)
    cmd.add_argument("--batch", type=int, default=200, help="rows per transaction")
    cmd.add_argument("--dry-run", action="store_true", help="count the rows that use an older key")
    cmd.set_defaults(func=_keys_reencrypt)


def add_migrations(migrations_sub) -> None:
    up = migrations_sub.add_parser("upgrade", help="apply migrations (one service, or all)")
    _common(up, service_required=False)
    up.add_argument("--revision", default="head")
    up.set_defaults(func=_migrations)
    current = migrations_sub.add_parser("current", help="the revision each database is at, and the head")
    _common(current, service_required=False)
    current.add_argument("--check", action="store_true", help="exit 1 when a database is behind its head")
    current.set_defaults(func=_migrations)


def add_retention(sub) -> None:
    retention = sub.add_parser("retention", help="prune outbox (sent), inbox and idempotency rows past their periods")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    prune = retention_sub.add_parser("prune", help="delete what is past retention (every service by default)")
    _common(prune, service_required=False)
    prune.add_argument("--dry-run", action="store_true", help="count only")
    prune.add_argument("--outbox-days", type=_positive, default=None, help="default <PREFIX>OUTBOX_RETENTION_DAYS (30)")
    prune.add_argument("--inbox-days", type=_positive, default=None, help="default <PREFIX>INBOX_RETENTION_DAYS (30)")
    prune.add_argument("--idempotency-hours", type=_positive, default=None,
                       help="default and minimum <PREFIX>IDEMPOTENCY_TTL_HOURS (24): the API's promise")
    prune.add_argument("--json", action="store_true")
    prune.set_defaults(func=_retention)
