"""`pana` — the operator's command line.

  pana audit verify --service S   verify the audit hash chain of a service's database
  pana keys rotate --service S [--no-activate]   add a field-encryption key (active for new writes)
  pana keys activate --service S --key-id ID     make a key active (second step of a staged rotation)
  pana keys retire --service S --key-id ID       remove a key no value uses any more
  pana keys list --service S                     key ids and the active one (never the keys)
  pana migrations revision --service S -m MSG   autogenerate a migration

Installed packages add commands through the `pana.commands` entry-point group: in the
workspace, pana-dev adds `pana run` and `pana token`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

from .roles import SERVICES


def _audit_verify(args) -> int:
    from .audit import verify_chain
    from .db import Database
    from .settings import ServiceSettings

    url = args.database_url or ServiceSettings(service_name=args.service, database_url="sqlite").resolved_database_url()

    async def go():
        db = Database(url)
        async with db.session() as session:
            report = await verify_chain(session)
        await db.dispose()
        return report

    report = asyncio.run(go())
    if report.intact:
        print(f"audit chain intact: {report.entries} entries")
        if report.head_seq is not None:  # keep outside the database: a removed tail shows only against it
            print(f"head: seq {report.head_seq} hash {report.head_hash}")
        return 0
    print(f"audit chain BROKEN at entry {report.first_broken_seq}: {report.reason}")
    return 1


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
        else:
            info = crypto.describe_file(path)
            print(f"{path}: active {info['active']}; keys {', '.join(info['keys'])}")
    except crypto.KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _revision(args) -> int:
    from .migrations import make_revision, packaged_migrations

    # The service's package data (<package>/migrations); in a checkout's editable install, its source tree.
    make_revision(packaged_migrations(args.service.replace("-", "_")), args.message)
    return 0


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
    verify.set_defaults(func=_audit_verify)

    keys = sub.add_parser("keys", help="field-encryption keys (AES-GCM keyring)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (("rotate", "add a new key and make it active"), ("activate", "make a key active"),
                       ("retire", "remove a key (only once no value uses it)"), ("list", "show key ids")):
        cmd = keys_sub.add_parser(name, help=text)
        cmd.add_argument("--service", required=True, choices=SERVICES)
        cmd.add_argument("--keyring-file", default=None, help="default: $<PREFIX>KEYRING_FILE or <state dir>/<service>-keyring.json")
        if name == "rotate":
            cmd.add_argument("--no-activate", action="store_true", help="add the key without using it yet (staged rollout)")
            cmd.add_argument("--key-id", default=None, help="default: k<date>-<random>")
        elif name in ("activate", "retire"):
            cmd.add_argument("--key-id", required=True)
        cmd.set_defaults(func=_keys)

    migrations = sub.add_parser("migrations", help="database migrations")
    migrations_sub = migrations.add_subparsers(dest="migrations_command", required=True)
    revision = migrations_sub.add_parser("revision", help="autogenerate a revision from the service's tables")
    revision.add_argument("--service", required=True, choices=SERVICES)
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(func=_revision)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
