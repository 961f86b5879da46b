"""Apache Kafka in KRaft mode, started from Python, for the test suite and CI.

Why not the embedded Tansu broker: the tests need the real thing (consumer
group protocol, idempotent producer, acks=all with ISR, leader fail-over,
durability across restarts). Why not Docker or a tarball: the machine has Java
and Maven Central, so `mvn dependency:copy-dependencies` on
``deploy/kafka/pom.xml`` fetches the broker jars once into a cache directory
and ``java -cp 'lib/*' kafka.Kafka server.properties`` runs it.

Quorum: the controller quorum is *static* (``controller.quorum.voters``), so
storage is formatted with plain ``StorageTool format -t <id> -c <props>`` on
every node alike (no ``--standalone``/``--initial-controllers`` bookkeeping),
and a node restarted on the same data directory and ports simply rejoins.

Security: by default a PLAINTEXT listener (the test suite's broker). With
``security=KafkaSecurity(dir)`` (`pana_dev.launchers.kafka_security`) the one
client listener is SASL_SSL (SCRAM-SHA-512, credentials added at format time),
the controller listener mutual TLS, and the StandardAuthorizer enforces per-service
ACLs, created with the topics once the broker is up (``kafka.security.client_options()``
for the admin, ``.service_environment(service, prefix)`` for a service).
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ._repo import find_repo_file
from ._sync import run_sync
from .kafka_security import KafkaSecurity
from .ports import LOOPBACK, free_ports, port_open
from .process import ManagedProcess

#: Default pin; the ``kafka.version`` property of ``deploy/kafka/pom.xml`` wins when the pom is found.
KAFKA_VERSION = "4.1.1"
POM_RELATIVE = "deploy/kafka/pom.xml"
LOG4J_RELATIVE = "deploy/kafka/log4j2.properties"
_MARKER = ".pana-complete"

# Used when deploy/kafka/log4j2.properties cannot be found (installed wheel).
_FALLBACK_LOG4J = """\
status = warn
shutdownHook = disable
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir:-.}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
"""


# -- jars -------------------------------------------------------------------------


def find_pom() -> Path | None:
    """``deploy/kafka/pom.xml``, searched upward from CWD and from this module."""
    return find_repo_file(POM_RELATIVE)


def kafka_version(pom: Path | None = None) -> str:
    """The pinned Kafka version: ``<kafka.version>`` in the pom, else `KAFKA_VERSION`."""
    pom = pom or find_pom()
    if pom is not None:
        m = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", pom.read_text())
        if m:
            return m.group(1)
    return KAFKA_VERSION


def kafka_lib_dir(version: str | None = None) -> Path:
    """Where the jars live: ``$PANA_KAFKA_LIB`` or ``~/.cache/pana/kafka-<version>/lib``."""
    env = os.environ.get("PANA_KAFKA_LIB")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "pana" / f"kafka-{version or kafka_version()}" / "lib"


def ensure_kafka_jars() -> Path:
    """Return the jar directory, fetching it with Maven the first time.

    The marker file holds a hash of the pom, so editing the pom refetches; a
    lock file serialises concurrent test sessions. Without a pom (installed
    wheel) an already complete directory is used as is.
    """
    pom = find_pom()
    lib = kafka_lib_dir(kafka_version(pom))
    marker = lib / _MARKER
    digest = hashlib.sha256(pom.read_bytes()).hexdigest() if pom else None
    if marker.exists() and (digest is None or marker.read_text().strip() == digest):
        return lib
    if pom is None:
        raise FileNotFoundError(
            f"{POM_RELATIVE} not found above {Path.cwd()} or {Path(__file__).parent}, "
            f"and {lib} holds no complete Kafka jar set (set PANA_KAFKA_LIB)"
        )
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FileNotFoundError("mvn is not on PATH; it is needed once to fetch the Kafka jars")
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / f".{lib.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text().strip() == digest:
            return lib  # another session fetched it while we waited
        if lib.exists():
            shutil.rmtree(lib)
        staging = Path(tempfile.mkdtemp(prefix=f"{lib.name}.", dir=lib.parent))
        try:
            proc = subprocess.run(
                [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={staging}"],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"mvn failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
            (staging / _MARKER).write_text(digest + "\n")
            staging.rename(lib)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return lib


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError("java (17+) is not on PATH")
    return java


def kafka_unavailable() -> str | None:
    """Why Apache Kafka cannot be started here (None when it can): Java missing, or
    the jars neither fetched yet nor fetchable (no Maven)."""
    try:
        _java()
    except FileNotFoundError:
        return "java (17+) is not on PATH"
    if not jars_fetched() and shutil.which("mvn") is None:
        return "the Kafka jars are not fetched yet and mvn (which fetches them once) is not on PATH"
    return None


def jars_fetched() -> bool:
    """True when the pinned Kafka jars are already in the cache (no Maven run needed)."""
    return (kafka_lib_dir() / _MARKER).exists()


def previous_ports(data_dir: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(broker port, controller port) of the last start on ``data_dir``, read from its
    ``server.properties``, when both are free again; None otherwise.

    A long-lived directory (``var/kafka`` of `pana run`) keeps its address from run to
    run, so tools pointed at it keep working; a taken port means fresh ones.
    """
    props = Path(data_dir) / "server.properties"
    try:
        text = props.read_text()
    except OSError:
        return None
    m = re.search(r"^listeners=PLAINTEXT://[^:]+:(\d+),CONTROLLER://[^:]+:(\d+)\s*$", text, re.M)
    if not m:
        return None
    port, controller = int(m.group(1)), int(m.group(2))
    if port_open(LOOPBACK, port) or port_open(LOOPBACK, controller):
        return None
    for p in (port, controller):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                # As the JVM binds (SO_REUSEADDR): clients' connections to a killed broker linger in TIME_WAIT
                # on this port, which must not make a restarted broker move.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((LOOPBACK, p))
        except OSError:
            return None
    return port, controller


def _log4j_config(data_dir: Path) -> Path:
    found = find_repo_file(LOG4J_RELATIVE)
    if found is not None:
        return found
    path = data_dir / "log4j2.properties"
    path.write_text(_FALLBACK_LOG4J)
    return path


def random_cluster_id() -> str:
    """A Kafka cluster id (base64url of 16 random bytes, as ``StorageTool random-uuid`` prints),
    made in Python to save a JVM start."""
    while True:
        s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not s.startswith("-"):
            return s


# -- metadata (via aiokafka) ------------------------------------------------------


async def fetch_metadata(bootstrap: str, timeout_ms: int = 5000, **options: Any):
    """aiokafka `ClusterMetadata` as seen through ``bootstrap`` (``options``: security, see KafkaSecurity)."""
    from aiokafka.client import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, metadata_max_age_ms=1000,
                            **options)
    try:
        await client.bootstrap()
        return await client.fetch_all_metadata()
    finally:
        await client.close()


def _wait_for_broker(bootstrap: str, node_ids: set[int], timeout: float, alive: Callable[[], None],
                     security: KafkaSecurity | None = None) -> None:
    """Block until metadata fetched from ``bootstrap`` lists every broker in ``node_ids``.

    A KRaft broker appears in metadata only once registered and unfenced, which
    is the point where clients can really use it.
    """

    host, _, port = bootstrap.split(",")[0].rpartition(":")

    async def poll() -> None:
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            alive()
            # Cheap TCP probe first: aiokafka logs every refused connection as an error.
            if not port_open(host, int(port)):
                last = ConnectionRefusedError(bootstrap)
                await asyncio.sleep(0.1)
                continue
            try:
                options = security.client_options() if security else {}
                md = await asyncio.wait_for(fetch_metadata(bootstrap, 2000, **options), 5)
                if node_ids <= {b.nodeId for b in md.brokers()}:
                    return
                last = RuntimeError(f"brokers {sorted(b.nodeId for b in md.brokers())}, want {sorted(node_ids)}")
            except Exception as e:  # noqa: BLE001 - not up yet
                last = e
            await asyncio.sleep(0.2)
        raise TimeoutError(f"Kafka at {bootstrap} not ready within {timeout:.0f}s: {last!r}")

    run_sync(poll)


# -- one node ---------------------------------------------------------------------


class ApacheKafka(ManagedProcess):
    """One Kafka node, broker and controller in the same JVM (KRaft combined mode).

    Alone it is a single-node cluster (replication factor 1); `ApacheKafkaCluster`
    wires three of them into one quorum. ``data_dir`` holds ``server.properties``,
    the log directory, ``kafka.out`` (JVM stdout) and ``server.log`` (log4j, WARN).
    Ports are chosen once, so `restart` keeps the same address.
    """

    name = "kafka"

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        node_id: int = 1,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
        cluster_id: str | None = None,
        voters: Mapping[int, int] | None = None,
        replication_factor: int = 1,
        min_insync_replicas: int = 1,
        config: Mapping[str, Any] | None = None,
        jvm_options: Sequence[str] = (),
        quick_start: bool = True,
        start_timeout: float = 90.0,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.security = security
        self.jvm_options = list(jvm_options)
        self.quick_start = quick_start
        self.data_dir = Path(data_dir).resolve()
        self.node_id = node_id
        if port is None or controller_port is None:
            p, c = free_ports(2)
            port = port or p
            controller_port = controller_port or c
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self._cluster_id = cluster_id
        self.voters = dict(voters) if voters else {node_id: controller_port}
        self.replication_factor = replication_factor
        self.min_insync_replicas = min_insync_replicas
        self.extra_config = dict(config or {})
        self.start_timeout = start_timeout
        super().__init__(log_path=self.data_dir / "kafka.out")

    # -- addresses and files

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def cluster_id(self) -> str:
        """The cluster id: given, else read from formatted storage, else a fresh one."""
        if self._cluster_id is None:
            meta = self.log_dir / "meta.properties"
            if meta.exists():
                m = re.search(r"^cluster\.id=(\S+)", meta.read_text(), re.M)
                if m:
                    self._cluster_id = m.group(1)
            if self._cluster_id is None:
                self._cluster_id = random_cluster_id()
        return self._cluster_id

    def server_properties(self) -> dict[str, Any]:
        rf, isr = self.replication_factor, self.min_insync_replicas
        props: dict[str, Any] = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "controller.quorum.voters": ",".join(f"{n}@{LOOPBACK}:{p}" for n, p in sorted(self.voters.items())),
            "listeners": f"PLAINTEXT://{LOOPBACK}:{self.port},CONTROLLER://{LOOPBACK}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": 3,
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "transaction.state.log.num.partitions": 5,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": isr,
            "group.initial.rebalance.delay.ms": 0,
            # Small segments and indexes: tests write little, disks are shared.
            "log.segment.bytes": 1048576,  # the minimum Kafka 4 accepts
            "log.index.size.max.bytes": 1048576,
            "log.retention.hours": 24,
            "log.cleaner.threads": 1,
            "log.cleaner.dedupe.buffer.size": 2 * 1048576,  # must exceed 1 MiB per cleaner thread
            # Two cores: keep thread pools small.
            "num.network.threads": 2,
            "num.io.threads": 2,
            "background.threads": 2,
            "num.recovery.threads.per.data.dir": 1,
            "num.replica.fetchers": 1,
            # Faster fail-over and shutdown for fault tests.
            "controlled.shutdown.enable": "true",
            "replica.lag.time.max.ms": 10000,
            "broker.heartbeat.interval.ms": 500,
            "broker.session.timeout.ms": 6000,
            "controller.quorum.election.timeout.ms": 1000,
            "controller.quorum.fetch.timeout.ms": 2000,
        }
        if self.security is not None:
            props.update(self.security.server_properties(self.port, self.controller_port, LOOPBACK))
        props.update(self.extra_config)
        return props

    def write_properties(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{k}={v}\n" for k, v in self.server_properties().items())
        self.properties_path.write_text("# generated by pana_dev.launchers.kafka; rewritten on every start\n" + text)
        return self.properties_path

    # -- JVM

    def _jvm(self, heap: str, quick: bool) -> list[str]:
        lib = ensure_kafka_jars()
        # C1 only (no C2): halves JVM start on two cores (boot ~2.5s instead of ~4.7s,
        # format ~0.9s instead of ~1.6s) at some cost in peak throughput.
        # Benchmarks pass quick_start=False.
        tiered = ["-XX:TieredStopAtLevel=1"] if quick else []
        return [
            _java(),
            f"-Xmx{heap}",
            *tiered,
            "-Xms64m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            *self.jvm_options,
            f"-Dkafka.logs.dir={self.data_dir}",
            f"-Dlog4j2.configurationFile={_log4j_config(self.data_dir)}",
            "-cp",
            str(lib / "*"),
        ]

    def format_command(self) -> list[str]:
        return [
            *self._jvm("256m", quick=True),
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t", self.cluster_id,
            "-c", str(self.properties_path),
            *(self.security.format_arguments() if self.security else ()),
        ]

    def command(self) -> list[str]:
        return [*self._jvm(self.heap, self.quick_start), "kafka.Kafka", str(self.properties_path)]

    @property
    def is_formatted(self) -> bool:
        return (self.log_dir / "meta.properties").exists()

    def format(self) -> None:
        """Format the log directory (once; a formatted directory is kept)."""
        self.write_properties()
        if self.is_formatted:
            return
        proc = subprocess.run(self.format_command(), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"kafka storage format failed:\n{proc.stdout}\n{proc.stderr}")

    # -- lifecycle

    def start_process(self) -> None:
        """Format if needed and spawn the JVM, without waiting for readiness."""
        if self.is_running:
            return
        other = self.other_owner()
        if other is not None:
            raise RuntimeError(
                f"another Kafka (pid {other}) is running on {self.data_dir}: a `pana run` still going, or one "
                f"left behind by a launcher that was killed. Stop it (kill {other}) and start again."
            )
        self.format()
        super().start_process()

    def other_owner(self) -> int | None:
        """Pid of a Kafka not started by this object that runs on this data directory (it holds
        the log directory's lock, so a second one would exit at once), else None."""
        import psutil

        flag = f"-Dkafka.logs.dir={self.data_dir}"
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                if flag in (proc.info["cmdline"] or []) and proc.info["pid"] != self.pid:
                    return proc.info["pid"]
            except (psutil.Error, TypeError):
                continue
        return None

    def log_tail(self, n: int = 40) -> str:
        """The JVM's output and the end of ``server.log`` (where Kafka says why it stopped)."""
        text = super().log_tail(n)
        server_log = self.data_dir / "server.log"
        if server_log.exists():
            lines = [ln for ln in server_log.read_text(errors="replace").splitlines() if not ln.startswith("\tat ")]
            text = (text + "\n" if text else "") + f"-- {server_log}:\n" + "\n".join(lines[-n:])
        return text

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until this node serves metadata listing itself as a live broker."""
        try:
            _wait_for_broker(self.bootstrap, {self.node_id}, timeout or self.start_timeout, self.check_alive,
                             self.security)
            if self.security is not None:
                security, bootstrap, rf = self.security, self.bootstrap, self.replication_factor
                run_sync(lambda: security.provision(bootstrap, replication_factor=rf))
        except BaseException:
            self.kill()
            raise

    def start(self, timeout: float | None = None) -> "ApacheKafka":
        """Start and block until a client can fetch metadata (safe to call from async code)."""
        if not self.is_running:
            self.start_process()
            self.wait_ready(timeout)
        return self

    def restart(self, timeout: float | None = None) -> "ApacheKafka":
        """Graceful stop, then start on the same data directory and ports."""
        self.stop()
        return self.start(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful (controlled) shutdown; SIGKILL after ``timeout`` seconds."""
        super().stop(timeout)


# -- three nodes ------------------------------------------------------------------


class ApacheKafkaCluster:
    """``n`` combined broker+controller nodes on loopback with an ``n``-voter quorum.

    Defaults for fault tests: replication factor ``min(3, n)`` for new topics and
    the internal ones, ``min.insync.replicas`` 2, so acks=all producers survive the
    loss of one node. Individual nodes can be stopped, killed and restarted.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        n: int = 3,
        *,
        heap: str = "384m",
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
        config: Mapping[str, Any] | None = None,
        quick_start: bool = True,
        start_timeout: float = 120.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        ports = free_ports(2 * n)
        voters = {i + 1: ports[n + i] for i in range(n)}
        rf = replication_factor or min(3, n)
        isr = min_insync_replicas or max(1, min(2, rf - 1))
        cluster_id = None
        # Reuse the cluster id of an already formatted data directory.
        probe = ApacheKafka(self.data_dir / "node-1", 1, port=ports[0], controller_port=ports[n])
        if probe.is_formatted:
            cluster_id = probe.cluster_id
        cluster_id = cluster_id or random_cluster_id()
        self.start_timeout = start_timeout
        self.nodes = [
            ApacheKafka(
                self.data_dir / f"node-{i + 1}",
                i + 1,
                port=ports[i],
                controller_port=ports[n + i],
                heap=heap,
                cluster_id=cluster_id,
                voters=voters,
                replication_factor=rf,
                min_insync_replicas=isr,
                config=config,
                quick_start=quick_start,
                start_timeout=start_timeout,
            )
            for i in range(n)
        ]

    @property
    def bootstrap(self) -> str:
        """All nodes, comma separated (clients fail over between them)."""
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> ApacheKafka:
        return self.nodes[node_id - 1]

    def start(self) -> "ApacheKafkaCluster":
        """Start every node at once (a quorum needs a majority) and wait for all brokers."""
        ensure_kafka_jars()
        for node in self.nodes:
            node.write_properties()
        formats = [subprocess.Popen(n.format_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                   for n in self.nodes if not n.is_formatted]
        for p in formats:
            out, _ = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"kafka storage format failed:\n{out.decode(errors='replace')}")
        try:
            for node in self.nodes:
                node.start_process()
            ids = {n.node_id for n in self.nodes}

            def alive() -> None:
                for n in self.nodes:
                    n.check_alive()

            _wait_for_broker(self.nodes[0].bootstrap, ids, self.start_timeout, alive)
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop all nodes; in parallel, since a controlled shutdown waits on the quorum."""
        threads = [threading.Thread(target=n.stop, args=(timeout,)) for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def kill(self) -> None:
        for n in self.nodes:
            n.kill()

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        self.node(node_id).stop(timeout)

    def kill_node(self, node_id: int) -> None:
        self.node(node_id).kill()

    def start_node(self, node_id: int) -> None:
        """Start a stopped node and wait until it is a live broker again."""
        self.node(node_id).start()

    @property
    def running_bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes if n.is_running)

    async def leader_of(self, topic: str, partition: int = 0) -> int | None:
        """Node id leading ``topic``/``partition`` now (None if leaderless or unknown)."""
        from aiokafka.structs import TopicPartition

        md = await fetch_metadata(self.running_bootstrap)
        leader = md.leader_for_partition(TopicPartition(topic, partition))
        return None if leader is None or leader < 0 else leader

    async def replicas_of(self, topic: str, partition: int = 0) -> tuple[list[int], list[int]]:
        """(replicas, in-sync replicas) of ``topic``/``partition`` from a MetadataRequest."""
        from aiokafka.client import AIOKafkaClient
        from aiokafka.protocol.metadata import MetadataRequest

        client = AIOKafkaClient(bootstrap_servers=self.running_bootstrap)
        try:
            await client.bootstrap()
            node = next(iter(client.cluster.brokers())).nodeId
            # aiokafka negotiates the request version; partition tuples start with
            # (error, id, leader, replicas, isr, ...) in every version >= 1.
            resp = await client.send(node, MetadataRequest([topic], False))
            for t in resp.topics:
                if t[1] == topic:
                    for part in t[-1]:
                        if part[1] == partition:
                            return list(part[3]), list(part[4])
            return [], []
        finally:
            await client.close()

    def __enter__(self) -> "ApacheKafkaCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
