"""`pana` — the operator's command line.

  pana audit verify --service S [--no-checkpoint]   verify the audit chain (hashes, keyed MACs, contiguous seqs)
                                 against the signed checkpoints outside the database; append one for the head
  pana keys rotate --service S [--no-activate]   add a field-encryption key (active for new writes)
  pana keys activate --service S --key-id ID     make a key active (second step of a staged rotation)
  pana keys retire --service S --key-id ID       remove a key no value uses any more
  pana keys rotate-audit --service S [--no-activate]   add an audit-chain key (entries name the key they used)
  pana keys activate-audit --service S --key-id ID     make an audit-chain key active (staged rotation)
  pana keys list --service S                     key ids and the active one (never the keys)
  pana migrations revision --service S -m MSG   autogenerate a migration
  pana migrations upgrade|current [--service S]  apply migrations / show each database's revision
  pana keys reencrypt --service S [--dry-run]    re-seal every sealed value under the active key
  pana dlq list|show|replay --service S ...      dead letters: list, show (redacted), replay via the consumer
  pana outbox status [--service S]               backlog, oldest unsent age, last send
  pana retention prune [--service S] [--dry-run] outbox (sent), inbox, idempotency rows past their periods
  pana outbox replay --service S --since T [--until T] [--topic T]   re-publish a range (same event ids)
  pana outbox purge --service S [--retention-days N]                 delete published rows past retention
  pana inbox --service S [--since T] [--until T] [--topic T] [--cursor C]   events a consumer received
  pana reconcile [--since T] [--until T] [--repair] [--domain] [--every S --metrics-port P]
                                                 producers' outboxes against consumers' inboxes

Times are ISO 8601 (`2026-12-01`, `2026-12-01T09:00:00Z`; naive means UTC) or a span back from now
(`30m`, `24h`, `7d`). Each service's database is `<PREFIX>DATABASE_URL` (as the service reads it), else
var/<service>.db; `--database-url SERVICE=URL` overrides it.

Installed packages add commands through the `pana.commands` entry-point group: in the
workspace, pana-dev adds `pana run` and `pana token`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

from . import ops_cli
from .roles import SERVICES


def _audit_setup(args):
    """(settings, database url, audit key, checkpoint file, checkpoints) for the audit commands; None when the
    audit key does not load (said on stderr)."""
    from . import audit
    from .crypto import Keyring, KeyringError
    from .settings import ENV_PREFIX, ServiceSettings

    prefix = ENV_PREFIX[args.service]
    raw_url = args.database_url or os.environ.get(f"{prefix}DATABASE_URL") or "sqlite"
    settings = ServiceSettings(service_name=args.service, database_url=raw_url,
                               audit_checkpoint_file=args.checkpoint_file or os.environ.get(f"{prefix}AUDIT_CHECKPOINT_FILE"))
    keyring_path = _keyring_path(args)
    try:
        key = audit.AuditKey.of(Keyring.from_file(keyring_path))
    except (KeyringError, OSError) as exc:
        print(f"cannot load the audit key from {keyring_path}: {exc}", file=sys.stderr)
        return None
    cp_path = audit.checkpoint_path(settings)
    return settings, settings.resolved_database_url(), key, cp_path, audit.read_checkpoints(cp_path)


def _audit_verify(args) -> int:
    """Verify the chain (hashes, keyed MACs, contiguous seqs) against the signed checkpoints kept outside the
    database, and the archived months given (--archive) with it; when intact, append a new checkpoint for the
    head (unless --no-checkpoint)."""
    from . import audit
    from .db import Database

    setup = _audit_setup(args)
    if setup is None:
        return 2
    _settings, url, key, cp_path, checkpoints = setup
    archives = [Path(a) for a in getattr(args, "archive", None) or []]

    async def go():
        db = Database(url)
        async with db.session() as session:
            report = await audit.verify_chain(session, key=key, checkpoints=checkpoints, archives=archives)
        await db.dispose()
        return report

    report = asyncio.run(go())
    if report.intact:
        print(f"audit chain intact: {report.entries} entries"
              f"{f' ({len(archives)} archive file(s) and the database)' if archives else ''}, checked against "
              f"{report.checkpoints} signed checkpoint(s)")
        if report.pending:
            print(f"note: {report.pending} entries committed but not yet chained (the chainer's backlog; a running "
                  "service chains them within moments, or at its next start)")
        if report.unkeyed:
            print(f"note: the first {report.unkeyed} entries were written before entries were keyed (hash chain only)")
        if report.head_seq is not None:
            print(f"head: seq {report.head_seq} hash {report.head_hash}")
            if getattr(args, "checkpoint", True):
                audit.write_checkpoint(cp_path, service=args.service, report=report, key=key)
                print(f"signed checkpoint written to {cp_path}")
        return 0
    print(f"audit chain BROKEN at entry {report.first_broken_seq}: {report.reason}")
    return 1


def _audit_archive(args) -> int:
    """Archive the audit log's months before --before (PostgreSQL, partitioned by month): each to a JSON-lines
    file with its signed seal, verified, then the partition detached and dropped."""
    from .audit_archive import ArchiveRefused, archive_months
    from .db import Database

    setup = _audit_setup(args)
    if setup is None:
        return 2
    settings, url, key, cp_path, checkpoints = setup
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.before):
        print("--before takes a month: YYYY-MM", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir) if args.out_dir else Path(cp_path).parent / f"{args.service}-audit-archive"

    async def go():
        db = Database(url)
        try:
            return await archive_months(db, before=args.before, service=args.service, key=key, out_dir=out_dir,
                                        checkpoint_file=Path(cp_path), checkpoints=checkpoints)
        finally:
            await db.dispose()

    refused = None
    try:
        done = asyncio.run(go())
    except ArchiveRefused as exc:
        done, refused = exc.done, exc
    for month in done:
        if month.path is None:
            print(f"{month.month}: no entries; partition dropped")
        else:
            print(f"{month.month}: {month.entries} entries (seq {month.first_seq}..{month.last_seq}) archived to "
                  f"{month.path}, sealed and verified; partition dropped")
    if refused is not None:
        print(f"not archived: {refused}")
        return 1
    if not done:
        print(f"no month before {args.before} to archive")
    return 0


def _attach_service_keyring(service: str, db) -> None:
    """Attach the service's keyring (file provider: $<PREFIX>KEYRING_FILE or var/<service>-keyring.json) when
    there is one, so sealed documents read; without one they are refused, naming the missing keyring."""
    from .crypto import Keyring, KeyringError, attach_keyring

    path = _keyring_path(argparse.Namespace(service=service, keyring_file=None))
    try:
        attach_keyring(db.engine, Keyring.from_file(path))
    except (KeyringError, OSError):
        pass


def _keyring_path(args) -> Path:
    """--keyring-file, else the service's <PREFIX>KEYRING_FILE, else <state dir>/<service>-keyring.json."""
    from .crypto import default_keyring_path
    from .settings import ENV_PREFIX

    if args.keyring_file:
        return Path(args.keyring_file)
    configured = os.environ.get(f"{ENV_PREFIX[args.service]}KEYRING_FILE")
    return Path(configured) if configured else default_keyring_path(args.service)


def _keys(args) -> int:
    from . import crypto

    path = _keyring_path(args)
    try:
        if args.keys_command == "rotate":
            key_id = crypto.rotate_file(path, activate=not args.no_activate, key_id=args.key_id)
            state = "not yet active: run `pana keys activate` once every instance has the file" if args.no_activate \
                else "active for new writes; old keys still decrypt"
            print(f"added key {key_id} to {path} ({state})")
        elif args.keys_command == "activate":
            crypto.activate_in_file(path, args.key_id)
            print(f"key {args.key_id} is now active in {path}")
        elif args.keys_command == "retire":
            crypto.retire_in_file(path, args.key_id)
            print(f"key {args.key_id} removed from {path}")
        elif args.keys_command == "rotate-audit":
            key_id = crypto.rotate_audit_in_file(path, activate=not args.no_activate, key_id=args.key_id)
            state = ("not yet active: give every instance the file (and restart it), then `pana keys activate-audit`"
                     if args.no_activate else "active for new entries once the service restarts; older entries keep "
                     "verifying with their key")
            print(f"added audit key {key_id} to {path} ({state})")
        elif args.keys_command == "activate-audit":
            crypto.activate_audit_in_file(path, args.key_id)
            print(f"audit key {args.key_id} is now active in {path} (for new entries once each instance restarts)")
        else:
            info = crypto.describe_file(path)
            audit_keys = info.get("audit_keys")
            audit = f"; audit keys {', '.join(audit_keys)} (active {info['audit_active'] or 'original'})" if audit_keys else ""
            print(f"{path}: active {info['active']}; keys {', '.join(info['keys'])}{audit}")
    except crypto.KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _revision(args) -> int:
    from .migrations import make_revision, packaged_migrations

    # The service's package data (<package>/migrations); in a checkout's editable install, its source tree.
    make_revision(packaged_migrations(args.service.replace("-", "_")), args.message)
    return 0


# -- delivery: outbox, inbox, reconciliation -------------------------------------------------------

def _when(text: str | None):
    """An ISO time (naive = UTC) or a span back from now: 30m, 24h, 7d."""
    import re
    from datetime import datetime, timedelta, timezone

    if text is None:
        return None
    span = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if span:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[span.group(2)]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(span.group(1))})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time or a span like 24h: {text!r}") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _database_urls(overrides: list[str] | None) -> dict[str, str]:
    """Each service's database URL: --database-url SERVICE=URL, else <PREFIX>DATABASE_URL, else var/<service>.db."""
    from .settings import ENV_PREFIX, ServiceSettings

    given: dict[str, str] = {}
    for item in overrides or []:
        name, sep, url = item.partition("=")
        if not sep or name not in SERVICES:
            raise SystemExit(f"--database-url wants SERVICE=URL with SERVICE one of {', '.join(SERVICES)}; got {item!r}")
        given[name] = url
    urls = {}
    for service in SERVICES:
        raw = given.get(service) or os.environ.get(f"{ENV_PREFIX[service]}DATABASE_URL") or "sqlite"
        urls[service] = ServiceSettings(service_name=service, database_url=raw).resolved_database_url()
    return urls


def _consumer_groups() -> dict[str, str]:
    from .settings import ENV_PREFIX

    return {s: os.environ.get(f"{ENV_PREFIX[s]}CONSUMER_GROUP") or s for s in SERVICES}


def _sqlite_missing(url: str) -> bool:
    if not url.startswith("sqlite"):
        return False
    path = url.split(":///", 1)[-1]
    return path not in ("", ":memory:") and not Path(path).exists()


def _one_url(args) -> str:
    url = args.database_url or _database_urls(None)[args.service]
    if _sqlite_missing(url):
        raise SystemExit(f"no database for {args.service} at {url}")
    return url


def _outbox(args) -> int:
    from datetime import timedelta

    from . import delivery
    from .db import Database
    from .settings import ENV_PREFIX

    url = _one_url(args)

    async def go():
        db = Database(url)
        try:
            if args.outbox_command == "replay":
                return await delivery.replay(db, since=args.since, until=args.until, topic=args.topic)
            days = args.retention_days or int(os.environ.get(f"{ENV_PREFIX[args.service]}OUTBOX_RETENTION_DAYS", 30))
            return await delivery.purge_published(db, retention=timedelta(days=days))
        finally:
            await db.dispose()

    count = asyncio.run(go())
    if args.outbox_command == "replay":
        print(f"{count} published events of {args.service} marked for publishing again; its relay sends them "
              "(now if it runs, else at its next start) with their event ids, so consumers' inboxes absorb repeats")
    else:
        print(f"purged {count} published outbox rows of {args.service} past retention")
    return 0


def _inbox(args) -> int:
    import json

    from . import delivery
    from .db import Database

    url = _one_url(args)
    group = _consumer_groups()[args.service] if args.group is None else args.group

    async def go():
        db = Database(url)
        try:
            return await delivery.inbox_window(db, group, since=args.since, until=args.until, topic=args.topic,
                                               cursor=args.cursor, limit=args.limit)
        finally:
            await db.dispose()

    page = asyncio.run(go())
    for row in page.items:
        if args.json:
            print(json.dumps({"event_id": row.event_id, "topic": row.topic, "type": row.event_type,
                              "outcome": row.outcome, "handled_at": row.handled_at.isoformat()}))
        else:
            print(f"{row.handled_at.isoformat()}  {row.event_id}  {row.topic or '-'}  {row.event_type}  {row.outcome}")
    if page.next_cursor:
        print(f"next page: --cursor {page.next_cursor}", file=sys.stderr)
    return 0


def _reconcile(args) -> int:
    import json
    import logging
    from datetime import timedelta

    from . import delivery
    from .db import Database

    try:  # a bad time is refused before anything is read
        _when(args.since), _when(args.until)
    except argparse.ArgumentTypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    urls = _database_urls(args.database_url)
    skipped = [f"{s}: no database at {u}" for s, u in urls.items() if _sqlite_missing(u)]
    urls = {s: u for s, u in urls.items() if not _sqlite_missing(u)}

    async def one_pass() -> tuple[delivery.Reconciliation, list]:
        databases = {s: Database(u) for s, u in urls.items()}
        for service, db in databases.items():  # the domain checks read sealed documents
            _attach_service_keyring(service, db)
        try:
            since = _when(args.since)
            result = await delivery.reconcile(databases, since=since, until=_when(args.until),
                                              settle=timedelta(seconds=args.settle), repair=args.repair,
                                              groups=_consumer_groups())
            result.skipped = skipped
            findings = []
            if args.domain:
                from .domain_checks import run_domain_checks

                findings = await run_domain_checks(databases)
            return result, findings
        finally:
            for db in databases.values():
                await db.dispose()

    def show(result, findings) -> int:
        if args.json:
            print(json.dumps({
                "since": result.since.isoformat() if result.since else None, "until": result.until.isoformat(),
                "reports": [vars(r) for r in result.reports], "missing": result.missing,
                "republished": result.republished, "skipped": result.skipped,
                "domain": [vars(f) for f in findings]}, default=str))
        else:
            for note in result.skipped:
                print(f"skipped {note}")
            for r in result.reports:
                print(f"{r.topic}: {r.producer} -> {r.consumer}: {r.published} published, {len(r.missing)} missing"
                      + (f", {r.in_flight} in flight" if r.in_flight else ""))
                for event_id in r.missing:
                    print(f"  missing {event_id}")
            if args.repair:
                print(f"re-published {result.republished} events (each once; consumers that have one ignore it)")
            for f in findings:
                print(f"domain: {f.check}: {f.detail} [{', '.join(f'{k}={v}' for k, v in f.ids.items())}]")
            if args.domain and not findings:
                print("domain: every check holds")
        lost = result.missing and not args.repair
        return 1 if lost or findings else 0

    if not args.every:
        return show(*asyncio.run(one_pass()))

    from prometheus_client import start_http_server

    from .jobs import periodic
    from .otlp_metrics import metrics_pusher

    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")  # pana_reconcile_missing{producer,topic,consumer}

    async def run_pass(_app) -> int:
        result, findings = await one_pass()
        show(result, findings)
        sys.stdout.flush()
        return result.missing

    job = periodic("reconcile", run_pass, interval_s=args.every, log=logging.getLogger("pana.reconcile"),
                   done="reconcile: %d events missing")

    async def run_periodically() -> None:
        # Pushed over OTLP as the services' metrics are, when the OTEL_* variables ask (the gauge is also on
        # --metrics-port for a scrape); the last values are pushed once more on a clean stop.
        pusher = metrics_pusher("pana-reconcile")
        if pusher is not None:
            pusher.start()
        # SIGTERM (a container's stop) ends the loop as Ctrl-C does, so the final push happens.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        try:
            await job(None)
        finally:
            if pusher is not None:
                await pusher.stop()

    try:
        asyncio.run(run_periodically())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0


def _add_delivery_commands(sub) -> None:
    from .roles import SERVICES as _services

    outbox = sub.add_parser("outbox", help="a service's outbox: replay a range, purge past retention")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    replay = outbox_sub.add_parser("replay", help="re-publish published events created in [since, until)")
    replay.add_argument("--since", required=True, type=_when)
    replay.add_argument("--until", default=None, type=_when)
    replay.add_argument("--topic", default=None)
    purge = outbox_sub.add_parser("purge", help="delete published rows older than the retention period")
    purge.add_argument("--retention-days", type=int, default=None, help="default: <PREFIX>OUTBOX_RETENTION_DAYS or 30")
    for cmd in (replay, purge):
        cmd.add_argument("--service", required=True, choices=_services)
        cmd.add_argument("--database-url", default=None)
        cmd.set_defaults(func=_outbox)
    ops_cli.add_outbox_status(outbox_sub)

    inbox = sub.add_parser("inbox", help="the events a service's consumer received in a window (oldest first)")
    inbox.add_argument("--service", required=True, choices=_services)
    inbox.add_argument("--since", default=None, type=_when)
    inbox.add_argument("--until", default=None, type=_when)
    inbox.add_argument("--topic", default=None)
    inbox.add_argument("--group", default=None, help="consumer group; default <PREFIX>CONSUMER_GROUP or the service name")
    inbox.add_argument("--cursor", default=None, help="from the previous page's 'next page' line")
    inbox.add_argument("--limit", type=int, default=100)
    inbox.add_argument("--json", action="store_true")
    inbox.add_argument("--database-url", default=None)
    inbox.set_defaults(func=_inbox)

    rec = sub.add_parser("reconcile", help="compare producers' outboxes with consumers' inboxes")
    rec.add_argument("--since", default="24h", help="window start: ISO time or span back (default 24h)")
    rec.add_argument("--until", default=None, help="window end (default now)")
    rec.add_argument("--settle", type=float, default=60.0, help="seconds an event may be in flight before it counts as missing")
    rec.add_argument("--repair", action="store_true", help="re-publish exactly the missing events")
    rec.add_argument("--domain", action="store_true", help="also check the services agree on the domain")
    rec.add_argument("--every", type=float, default=None, help="repeat every N seconds (the window moves along)")
    rec.add_argument("--metrics-port", type=int, default=None, help="with --every: serve /metrics on 127.0.0.1:PORT")
    rec.add_argument("--json", action="store_true")
    rec.add_argument("--database-url", action="append", default=None, metavar="SERVICE=URL")
    rec.set_defaults(func=_reconcile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pana", description="Pana operator tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in entry_points(group="pana.commands"):  # pana-dev's run and token come first, as before
        command.load()(sub)

    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify the hash chain")
    verify.add_argument("--service", required=True, choices=SERVICES)
    verify.add_argument("--database-url", default=None)
    verify.add_argument("--keyring-file", default=None, help="the audit key's keyring: default $<PREFIX>KEYRING_FILE "
                                                             "or var/<service>-keyring.json")
    verify.add_argument("--checkpoint-file", default=None, help="signed checkpoints: default "
                                                                "$<PREFIX>AUDIT_CHECKPOINT_FILE or one beside the state")
    verify.add_argument("--no-checkpoint", dest="checkpoint", action="store_false",
                        help="verify only; do not append a signed checkpoint for the head")
    verify.add_argument("--archive", action="append", default=None, metavar="FILE",
                        help="an archived month (`pana audit archive`), verified with the database as one chain; "
                             "repeat, oldest first")
    verify.set_defaults(func=_audit_verify)
    archive = audit_sub.add_parser("archive", help="export and drop the audit log's months before a month "
                                                   "(PostgreSQL, partitioned by month)")
    archive.add_argument("--service", required=True, choices=SERVICES)
    archive.add_argument("--before", required=True, help="YYYY-MM: archive every month before this one")
    archive.add_argument("--out-dir", default=None, help="where the archive files go (default: beside the "
                                                         "checkpoint file)")
    archive.add_argument("--database-url", default=None)
    archive.add_argument("--keyring-file", default=None)
    archive.add_argument("--checkpoint-file", default=None)
    archive.set_defaults(func=_audit_archive)

    keys = sub.add_parser("keys", help="field-encryption keys (AES-GCM keyring)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (("rotate", "add a new key and make it active"), ("activate", "make a key active"),
                       ("retire", "remove a key (only once no value uses it)"), ("list", "show key ids"),
                       ("rotate-audit", "add an audit-chain key and make it active (entries name their key)"),
                       ("activate-audit", "make an audit-chain key active (second step of a staged rotation)")):
        cmd = keys_sub.add_parser(name, help=text)
        cmd.add_argument("--service", required=True, choices=SERVICES)
        cmd.add_argument("--keyring-file", default=None, help="default: $<PREFIX>KEYRING_FILE or <state dir>/<service>-keyring.json")
        if name in ("rotate", "rotate-audit"):
            cmd.add_argument("--no-activate", action="store_true", help="add the key without using it yet (staged rollout)")
            cmd.add_argument("--key-id", default=None, help="default: k<date>-<random> (audit: a<date>-<random>)")
        elif name in ("activate", "retire", "activate-audit"):
            cmd.add_argument("--key-id", required=True)
        cmd.set_defaults(func=_keys)
    ops_cli.add_keys_reencrypt(keys_sub)

    migrations = sub.add_parser("migrations", help="database migrations")
    migrations_sub = migrations.add_subparsers(dest="migrations_command", required=True)
    revision = migrations_sub.add_parser("revision", help="autogenerate a revision from the service's tables")
    revision.add_argument("--service", required=True, choices=SERVICES)
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(func=_revision)
    ops_cli.add_migrations(migrations_sub)

    _add_delivery_commands(sub)
    ops_cli.add_dlq(sub)
    ops_cli.add_retention(sub)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
