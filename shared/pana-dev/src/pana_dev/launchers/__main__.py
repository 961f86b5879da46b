"""Run one piece of infrastructure in the foreground: ``python -m pana_dev.launchers KIND``.

For local development and debugging: start a broker or database exactly as the
tests do, print its address, and stop it cleanly on Ctrl-C or SIGTERM.
Without ``--data-dir`` the data lives in a temporary directory removed on exit.
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

KINDS = ("kafka", "cluster", "postgres", "tansu")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pana_dev.launchers", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, default=None, help="listen port (kafka, postgres, tansu)")
    parser.add_argument("--data-dir", type=Path, default=None, help="kept across runs when given")
    parser.add_argument("-n", "--nodes", type=int, default=3, help="cluster size (cluster)")
    args = parser.parse_args(argv)

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
        server = ApacheKafka(data_dir, port=args.port)
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
