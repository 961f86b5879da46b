"""`pana` — the operator's command line.

  pana token --role ROLE      print a dev access token (last line of output)
  pana run                    start the whole system on embedded defaults (make run)
  pana audit verify --service S   verify the audit hash chain of a service's database
  pana migrations revision --service S -m MSG   autogenerate a migration
  pana keys rotate --service S [--no-activate]   add a field-encryption key (active for new writes)
  pana keys activate --service S --key-id ID     make a key active (second step of a staged rotation)
  pana keys retire --service S --key-id ID       remove a key no value uses any more
  pana keys list --service S                     key ids and the active one (never the keys)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from .roles import ROLES, SERVICES


def _token(args) -> int:
    from .auth import mint_dev_token
    from .settings import ServiceSettings

    settings = ServiceSettings(_env_file=None)
    audience = args.audience.split(",") if args.audience else None
    token = mint_dev_token(settings, role=args.role, subject=args.subject, office=args.office, audience=audience,
                           ttl_seconds=args.ttl)
    print(f"# dev token: role={args.role} office={args.office} audience={audience or list(SERVICES)} ttl={args.ttl}s", file=sys.stderr)
    print(token)
    return 0


def _run(args) -> int:
    from .settings import repo_root
    from .stack import SERVICES as SPECS
    from .stack import SIMULATOR_PORT, Stack

    var = Path(args.var or repo_root() / "var")
    ports = {s.name: int(os.environ.get(f"{s.env_prefix}PORT", s.default_port)) for s in SPECS}
    stack = Stack(var_dir=var, broker=args.broker, database=args.database, ports=ports,
                  simulator_port=int(os.environ.get("SIMULATOR_PORT", SIMULATOR_PORT)))
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    # Ctrl-C reaches make, uv and us at once; one signal starts the stop, the rest are ignored.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        print(f"starting broker ({args.broker}) and database ({args.database}) ...", flush=True)
        stack.start()
        print("\nPana is running:", flush=True)
        for name, proc in stack.processes.items():
            print(f"  {name:<26} {proc.url}/docs", flush=True)
        print(f"  kafka bootstrap            {stack.kafka_bootstrap}")
        print("\nA token:  uv run pana token --role border-officer\nCtrl-C stops everything.", flush=True)
        while not stopping:
            for proc in stack.processes.values():
                proc.check_alive()
            time.sleep(0.5)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


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
    """--keyring-file, else the service's <PREFIX>KEYRING_FILE, else var/<service>-keyring.json."""
    from .crypto import default_keyring_path
    from .stack import SERVICES as SPECS

    if args.keyring_file:
        return Path(args.keyring_file)
    prefix = next(s.env_prefix for s in SPECS if s.name == args.service)
    configured = os.environ.get(f"{prefix}KEYRING_FILE")
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
    from .migrations import make_revision
    from .settings import repo_root

    make_revision(repo_root() / "services" / args.service / "migrations", args.message)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pana", description="Pana operator tools")
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="print a dev access token")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--subject", default=None, help="user id (default: <role>-dev)")
    token.add_argument("--office", default="almaty")
    token.add_argument("--audience", default=None, help="comma-separated services (default: all four)")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds")
    token.set_defaults(func=_token)

    run = sub.add_parser("run", help="start the whole system")
    run.add_argument("--broker", default=os.environ.get("PANA_BROKER", "embedded"), help="embedded | apache | host:port")
    run.add_argument("--database", default=os.environ.get("PANA_DATABASE", "sqlite"), help="sqlite | postgres | URL with {db}")
    run.add_argument("--var", default=None, help="state directory (default: ./var)")
    run.set_defaults(func=_run)

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
        cmd.add_argument("--keyring-file", default=None, help="default: $<PREFIX>KEYRING_FILE or var/<service>-keyring.json")
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
