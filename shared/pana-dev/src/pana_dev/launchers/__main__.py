"""Run one piece of infrastructure in the foreground: ``python -m pana_dev.launchers KIND``.

For local development and debugging: start a broker or database exactly as the
tests do, print its address, and stop it cleanly on Ctrl-C or SIGTERM.
Without ``--data-dir`` the data lives in a temporary directory removed on exit.
``kafka --sasl`` starts the secured broker (SASL_SSL, SCRAM-SHA-512, ACLs per
service; pana_dev.launchers.kafka_security) and prints each service's variables;
``kafka-acls`` prints the ACLs as ``kafka-acls.sh`` commands for an operator.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

KINDS = ("kafka", "cluster", "postgres", "tansu", "kafka-acls")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pana_dev.launchers", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, default=None, help="listen port (kafka, postgres, tansu)")
    parser.add_argument("--data-dir", type=Path, default=None, help="kept across runs when given")
    parser.add_argument("-n", "--nodes", type=int, default=3, help="cluster size (cluster)")
    parser.add_argument("--sasl", action="store_true", help="kafka: SASL_SSL (SCRAM-SHA-512) listener with ACLs")
    args = parser.parse_args(argv)

    if args.kind == "kafka-acls":
        from .kafka_security import acl_commands

        print("\n".join(acl_commands()))
        return 0

    from . import ApacheKafka, ApacheKafkaCluster, EmbeddedBroker, EmbeddedPostgres

    temp = None
    data_dir = args.data_dir
    if data_dir is None and args.kind != "tansu":
        temp = data_dir = Path(tempfile.mkdtemp(prefix=f"pana-{args.kind}-"))

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    started = time.monotonic()
    if args.kind == "tansu":
        server = EmbeddedBroker(args.port)
    elif args.kind == "kafka":
        security = None
        if args.sasl:
            from .kafka_security import KafkaSecurity

            security = KafkaSecurity(data_dir / "security")
        server = ApacheKafka(data_dir, port=args.port, security=security)
    elif args.kind == "cluster":
        server = ApacheKafkaCluster(data_dir, n=args.nodes)
    else:
        server = EmbeddedPostgres(data_dir, args.port)
    try:
        server.start()
        elapsed = time.monotonic() - started
        if isinstance(server, EmbeddedPostgres):
            print(f"postgres ready in {elapsed:.1f}s: {server.dsn()}  (SQLAlchemy: {server.url()})", flush=True)
        else:
            print(f"{args.kind} ready in {elapsed:.1f}s: bootstrap {server.bootstrap}", flush=True)
        if data_dir is not None:
            print(f"data: {data_dir}", flush=True)
        if isinstance(server, ApacheKafka) and server.security is not None:
            from pana_kit.settings import ENV_PREFIX

            print(f"SASL_SSL, CA {server.security.ca_file}; credentials in {server.security.directory / 'users.json'}")
            for service, prefix in ENV_PREFIX.items():
                env = server.security.service_environment(service, prefix)
                print(" ".join(f"{k}={v}" for k, v in env.items()), flush=True)
        print("Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            if isinstance(server, ApacheKafkaCluster):
                continue
            if not server.is_running:
                print(f"{args.kind} exited unexpectedly; log: {server.log_path}", file=sys.stderr)
                return 1
        return 0
    finally:
        server.stop()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
