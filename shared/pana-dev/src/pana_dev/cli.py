"""Developer commands of `pana`, added to the kit's CLI through the `pana.commands` entry point.

  pana token --role ROLE      print a dev access token (last line of output)
  pana run                    start and supervise the whole system (make run): Apache Kafka with its
                              log under var/kafka, SQLite under var/; --broker memory keeps nothing

Neither belongs in a service image: `run` starts brokers and databases from the
developer stack, and a dev token is only accepted by services in dev mode.
"""

from __future__ import annotations

import argparse
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


class _Stop(BaseException):
    """Ctrl-C or SIGTERM: leave whatever is being waited for and stop."""


def _broker_preflight(stack) -> str | None:
    """Print what the user must know about the broker; a reason when it cannot start."""
    from .stack import DURABLE_BROKERS, kafka_unavailable_message

    if stack.broker in DURABLE_BROKERS:
        from .launchers.kafka import kafka_unavailable

        reason = kafka_unavailable()
        if reason:
            return kafka_unavailable_message(reason)
    for note in stack.broker_notes():
        print(note, file=sys.stderr if note.startswith("WARNING") else sys.stdout, flush=True)
    return None


def _run(args) -> int:
    from pana_kit.settings import repo_root

    from .launchers.process import ManagedProcess
    from .stack import SERVICES as SPECS
    from .stack import SIMULATOR_PORT, Stack
    from .supervisor import AlreadyRunning, GaveUp, Supervisor, port_taken

    var = Path(args.var or repo_root() / "var")
    only = {name.strip() for name in args.only.split(",")} if args.only else None
    unknown = (only or set()) - {s.name for s in SPECS} - {"simulator", "civil-registry-simulator"}
    if unknown:
        print(f"--only: unknown {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    specs = tuple(s for s in SPECS if only is None or s.name in only)
    simulator = only is None or "simulator" in only or "civil-registry-simulator" in only
    if args.no_parent_death_signal:  # tests only: behave like a launcher whose children outlive it
        ManagedProcess.die_with_parent = False
    ports = {s.name: int(os.environ.get(f"{s.env_prefix}PORT", s.default_port)) for s in SPECS}
    # /docs "Try it out" works out of the box: each service seeds its example world once (pana_kit.sandbox);
    # <PREFIX>SANDBOX_EXAMPLES=false in the environment keeps a service's register free of it.
    sandbox = {s.name: {f"{s.env_prefix}SANDBOX_EXAMPLES": os.environ.get(f"{s.env_prefix}SANDBOX_EXAMPLES", "true")}
               for s in SPECS}
    stack = Stack(var_dir=var, broker=args.broker, database=args.database, ports=ports,
                  simulator_port=int(os.environ.get("SIMULATOR_PORT", SIMULATOR_PORT)), service_env=sandbox)
    refused = _broker_preflight(stack)
    if refused:
        print(refused, file=sys.stderr, flush=True)
        return 2
    supervisor = Supervisor(stack, progress=lambda line: print(line, flush=True))

    signalled_at: list[float] = []

    def _stop(signum, frame):
        signalled_at.append(time.monotonic())
        # Ctrl-C reaches make, uv and us at once; the first signal stops, the rest are ignored.
        for ignored in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(ignored, signal.SIG_IGN)
        raise _Stop(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
        signal.signal(signum, _stop)
    code = 0
    try:
        ended = supervisor.clean_up_leftovers()
        wanted = ([("civil-registry-simulator", stack.simulator_port)] if simulator else []) + \
                 [(s.name, ports[s.name]) for s in specs]
        taken = [f"{port} ({name})" for name, port in wanted if port_taken(port)]
        # What was just killed can hold its port a moment longer on a busy machine: wait for it, not for ever.
        deadline = time.monotonic() + 15
        while taken and ended and time.monotonic() < deadline:
            time.sleep(0.1)
            taken = [f"{port} ({name})" for name, port in wanted if port_taken(port)]
        if taken:
            print(f"port {', '.join(taken)} already in use: is another Pana running? "
                  f"(set the *_PORT variables to move it)", file=sys.stderr, flush=True)
            return 1
        parts = (["the broker"] if specs else []) + (["the civil-registry simulator"] if simulator else []) + \
            ([f"{len(specs)} services"] if specs else [])
        print(f"starting {', '.join(parts)} (broker: {args.broker}, database: {args.database}; logs under "
              f"{var / 'logs'}) ...", flush=True)
        began = time.monotonic()
        supervisor.start(specs, simulator)
        supervisor.wait_started()
        print(f"\nPana is running (started in {time.monotonic() - began:.1f} s):", flush=True)
        for name, proc in stack.processes.items():
            print(f"  {name:<26} {proc.url}/docs", flush=True)
        if stack.kafka_bootstrap:
            print(f"  kafka bootstrap            {stack.kafka_bootstrap}")
        print("\nA crashed process is restarted. A token, in another terminal:  make token ROLE=border-officer\n"
              "Ctrl-C stops everything.", flush=True)
        supervisor.run()
    except _Stop:
        pass
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    except GaveUp as exc:
        print(f"\n{exc}\nstopping everything.", file=sys.stderr, flush=True)
        code = 1
    finally:
        for ignored in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(ignored, signal.SIG_IGN)
        if supervisor.children or supervisor.owns_state:
            print("\nstopping ...", flush=True)
            began = signalled_at[0] if signalled_at else time.monotonic()
            supervisor.stop(grace=args.grace)
            late = f" ({', '.join(supervisor.killed)} killed after {args.grace:.1f} s)" if supervisor.killed else ""
            print(f"stopped in {time.monotonic() - began:.1f} s{late}.", flush=True)
    return code


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
    run.add_argument("--broker", default=os.environ.get("PANA_BROKER", "kafka"),
                     help="kafka (default: Apache Kafka, log under VAR/kafka, kept across restarts) | "
                          "memory (Tansu, memory only: acknowledged events are LOST on stop) | host:port")
    run.add_argument("--database", default=os.environ.get("PANA_DATABASE", "sqlite"), help="sqlite | postgres | URL with {db}")
    run.add_argument("--var", default=None, help="state directory (default: ./var)")
    run.add_argument("--grace", type=float, default=1.5,
                     help="seconds the services, then the broker and database, get to stop before SIGKILL")
    # For tests: a part of the stack ("simulator", service names, comma-separated), and children that
    # outlive the launcher (as an older launcher's, or where there is no parent-death signal) to clean up.
    run.add_argument("--only", default=None, help=argparse.SUPPRESS)
    run.add_argument("--no-parent-death-signal", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(func=_run)
