"""Developer commands of `pana`, added to the kit's CLI through the `pana.commands` entry point.

  pana token --role ROLE      print a dev access token (last line of output)
  pana run                    start the whole system on embedded defaults (make run)

Neither belongs in a service image: `run` starts brokers and databases from the
developer stack, and a dev token is only accepted by services in dev mode.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from pana_kit.roles import ROLES, SERVICES


def _token(args) -> int:
    from pana_kit.auth import mint_dev_token
    from pana_kit.settings import ServiceSettings

    settings = ServiceSettings(_env_file=None)
    audience = args.audience.split(",") if args.audience else None
    token = mint_dev_token(settings, role=args.role, subject=args.subject, office=args.office, audience=audience,
                           ttl_seconds=args.ttl)
    print(f"# dev token: role={args.role} office={args.office} audience={audience or list(SERVICES)} ttl={args.ttl}s", file=sys.stderr)
    print(token)
    return 0


def _run(args) -> int:
    from pana_kit.settings import repo_root

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


def register(sub) -> None:
    """Add the developer commands to the `pana` parser's subcommands."""
    token = sub.add_parser("token", help="print a dev access token")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--subject", default=None, help="user id (default: <role>-dev)")
    token.add_argument("--office", default="almaty")
    token.add_argument("--audience", default=None, help="comma-separated services (default: all four)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds (services refuse more than their "
                       "AUTH_MAX_TOKEN_LIFETIME_SECONDS, 3600 by default)")
    token.set_defaults(func=_token)

    run = sub.add_parser("run", help="start the whole system")
    run.add_argument("--broker", default=os.environ.get("PANA_BROKER", "embedded"), help="embedded | apache | host:port")
    run.add_argument("--database", default=os.environ.get("PANA_DATABASE", "sqlite"), help="sqlite | postgres | URL with {db}")
    run.add_argument("--var", default=None, help="state directory (default: ./var)")
    run.set_defaults(func=_run)
