"""A webhook receiver for tests and for trying webhooks by hand: a small HTTP server, run as its own process.

    python -m pana_dev.webhook_receiver --port 8123 --log received.jsonl --secrets secrets.json

`secrets.json` maps a path to the subscription's secret (`{"/hooks/rsd": "whsec_..."}`), read on every request
so a test can add a subscription's secret after the receiver started. Each POST is verified with the
`standardwebhooks` package (the reference implementation, independent of Pana's signing code) and appended to
the log as one JSON line: path, headers that matter, whether the signature verified, and the CloudEvent. A
verified delivery gets 204; an unverifiable one 400 (so the sender parks it); an unknown path 404.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

_LOCK = threading.Lock()


def make_handler(log: Path, secrets: Path):
    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):  # readiness probe of the tests
            self.send_response(200)
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                known = json.loads(secrets.read_text()) if secrets.exists() else {}
            except ValueError:
                known = {}
            secret = known.get(self.path)
            if secret is None:
                self.send_response(404)
                self.end_headers()
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = {"path": self.path, "webhook_id": headers.get("webhook-id"),
                      "webhook_timestamp": headers.get("webhook-timestamp"),
                      "content_type": headers.get("content-type"), "verified": False, "received_at": time.time()}
            try:
                Webhook(secret).verify(body, headers)
                record["verified"] = True
            except WebhookVerificationError as exc:
                record["error"] = str(exc)
            try:
                record["event"] = json.loads(body)
            except ValueError:
                record["event"] = None
            with _LOCK, log.open("a") as out:
                out.write(json.dumps(record) + "\n")
            self.send_response(204 if record["verified"] else 400)
            self.end_headers()

    return Receiver


class ReceiverProcess:
    """The receiver as a child process on a free loopback port, for tests: `up()`, `down()` (killed: connections
    are refused, as when a receiving system is down), `trust(path, secret)`, `received()`."""

    def __init__(self, directory: Path, port: int | None = None):
        from .launchers.ports import free_port

        self.port = port or free_port()
        self.log = Path(directory) / "received.jsonl"
        self.secrets = Path(directory) / "secrets.json"
        self.proc: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def trust(self, path: str, secret: str) -> None:
        known = json.loads(self.secrets.read_text()) if self.secrets.exists() else {}
        self.secrets.write_text(json.dumps({**known, path: secret}))

    def up(self, timeout: float = 30) -> None:
        import httpx

        from .testing import wait_for

        self.proc = subprocess.Popen([sys.executable, "-m", "pana_dev.webhook_receiver", "--port", str(self.port),
                                      "--log", str(self.log), "--secrets", str(self.secrets)],
                                     stdout=subprocess.DEVNULL)
        wait_for(lambda: httpx.get(self.url("/ready"), timeout=1).status_code == 200, timeout=timeout,
                 what="webhook receiver up")

    def down(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def received(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def __enter__(self) -> "ReceiverProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pana_dev.webhook_receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--secrets", type=Path, required=True)
    args = parser.parse_args(argv)
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.log, args.secrets))
    print(f"receiving on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
