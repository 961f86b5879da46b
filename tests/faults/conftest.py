"""Fault tests: the whole system on Apache Kafka and PostgreSQL, broken on purpose.

Two stacks, never at once (two cores): `fault_stack` (one Apache Kafka broker,
one embedded PostgreSQL holding every service's database, the simulator and the
four services) serves every test but the cluster one; `cluster_stack` (three
Apache Kafka nodes, replication factor 3, min.insync.replicas 2, registration
and rsd) serves `test_zz_cluster_leader_loss.py`, which is named to run last.

`PANA_FAULT_EVENTS` sets the events per fault (default 300; the issue's figure is
10,000); `PANA_FAULT_BROKER_DOWN_S` how long the single broker stays down.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))  # tests/support.py
sys.path.insert(0, str(Path(__file__).parent))  # faultflow.py

from pana_dev.stack import Stack, spec  # noqa: E402

_running: dict[str, object] = {}


def pytest_collection_modifyitems(config, items):
    have_kafka = shutil.which("java") and shutil.which("mvn")
    skip = pytest.mark.skip(reason="fault tests need Apache Kafka (java 17+ and mvn)")
    for item in items:
        if "tests/faults/" in str(item.fspath):
            # Starting a stack and draining a backlog on two shared cores: never a timed assertion.
            # At the size (10,000 events) draining the backlog alone takes about 20 minutes here.
            item.add_marker(pytest.mark.timeout(max(1800, int(os.environ.get("PANA_FAULT_EVENTS", "300")) * 0.4)))
            if not have_kafka:
                item.add_marker(skip)


def _stop(name: str) -> None:
    item = _running.pop(name, None)
    if item is not None:
        item.stop()


@pytest.fixture(scope="session")
def fault_root(request) -> Path:
    """A directory of our own, not under pytest's basetemp.

    PostgreSQL runs as an unprivileged user when we are root and reaches its data
    directory by absolute path; every pytest session that starts on the machine
    resets /tmp/pytest-of-<user> to mode 0700, which made the server PANIC
    ("could not open pg_control: Permission denied") on its next checkpoint.
    Kept (with the services' logs) when a test failed or PANA_FAULT_KEEP is set.
    """
    root = Path(tempfile.mkdtemp(prefix="pana-faults-"))
    yield root
    if request.session.testsfailed or os.environ.get("PANA_FAULT_KEEP"):
        print(f"\n[fault] logs and data kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _stop_everything_at_the_end(fault_root):
    """Stops whatever stack is running before `fault_root` is removed (set up after it, torn down before)."""
    yield
    for name in ("cluster-stack", "cluster", "single"):
        _stop(name)


@pytest.fixture(scope="session")
def fault_stack(fault_root) -> Stack:
    """One Apache Kafka broker, one PostgreSQL for all four services, the simulator, the four services."""
    _stop("cluster-stack")
    _stop("cluster")
    if "single" not in _running:
        stack = Stack(var_dir=fault_root / "single", broker="apache", database="postgres",
                      simulator_env={"SIM_REGISTRATION_DELAY_S": "0.3", "SIM_RECORDS": "200"},
                      extra_env={"PANA_LOG_LEVEL": "INFO"})
        _running["single"] = stack
        stack.start()
    return _running["single"]


@pytest.fixture(scope="session")
def cluster_stack(fault_root) -> Stack:
    """Three Apache Kafka nodes (RF 3, min ISR 2); registration and rsd with replication factor 3."""
    from pana_dev.launchers.kafka import ApacheKafkaCluster

    _stop("single")
    if "cluster-stack" not in _running:
        cluster = ApacheKafkaCluster(fault_root / "cluster" / "kafka", n=3, replication_factor=3, min_insync_replicas=2,
                                     start_timeout=300)  # three JVMs on two cores: a bound on a hang only
        _running["cluster"] = cluster
        cluster.start()
        stack = Stack(var_dir=fault_root / "cluster", broker=cluster.bootstrap, database="postgres",
                      extra_env={"PANA_LOG_LEVEL": "INFO"},
                      service_env={"registration": {"REGISTRATION_KAFKA_REPLICATION_FACTOR": "3"},
                                   "rsd": {"RSD_KAFKA_REPLICATION_FACTOR": "3"}})
        stack.cluster = cluster
        _running["cluster-stack"] = stack
        stack.start(services=(spec("registration"), spec("rsd")), simulator=False)
    return _running["cluster-stack"]



@pytest.fixture(scope="session")
def make_run_var(fault_root) -> Path:
    """The var directory of `pana run` as a user starts it; the other stacks are stopped first (two cores)."""
    for name in ("single", "cluster-stack", "cluster"):
        _stop(name)
    return fault_root / "make-run"
