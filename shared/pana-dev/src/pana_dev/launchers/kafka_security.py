"""SASL_SSL (SCRAM-SHA-512), a CA made on the spot and per-service ACLs for `ApacheKafka`.

This is also the reference for provisioning a production broker (deploy/kafka/README.md):

- **TLS**: a self-signed CA and a broker certificate (SAN ``127.0.0.1``, ``localhost``) are generated with
  `cryptography` the first time, into ``<dir>/tls`` (kept for restarts). The broker reads them as PEM
  (``ssl.keystore.type=PEM``, ``ssl.truststore.type=PEM``); clients trust ``ca.pem``
  (``<PREFIX>KAFKA_SSL_CAFILE``).
- **Authentication**: every client listener is ``SASL_SSL`` with ``SCRAM-SHA-512``. The credentials are
  written into the metadata log when storage is formatted (``kafka-storage format --add-scram
  'SCRAM-SHA-512=[name=rsd,password=...]'``), one per service and one ``admin`` super user, so the broker
  never starts with an open door. The KRaft controller listener is TLS with client certificates required
  (SCRAM cannot authenticate controllers); the broker's own certificate is its identity there.
- **Authorisation**: ``StandardAuthorizer``, nothing allowed unless an ACL says so
  (``allow.everyone.if.no.acl.found=false``); super users are ``admin`` and the broker itself. The ACLs come
  from the topic registry (`service_acls`): a service may write (and create) only the topics it produces and
  its own dead-letter topic ``<service>.dlq``, and read only the topics it consumes, with its own consumer
  group. `provision` creates the topics and those ACLs as ``admin``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from pana_events.topics import TOPICS, dead_letter_topic

MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"
BROKER_CN = "pana-kafka-broker"
SERVICES = tuple(sorted({t.producer for t in TOPICS} | {c for t in TOPICS for c in t.consumers}))

# Kafka's wire enums (org.apache.kafka.common.resource / acl)
RESOURCE = {"topic": 2, "group": 3, "cluster": 4}
PATTERN_LITERAL = 3
OPERATION = {"all": 2, "read": 3, "write": 4, "create": 5, "delete": 6, "alter": 7, "describe": 8,
             "cluster_action": 9, "describe_configs": 10, "idempotent_write": 12}
ALLOW = 3


@dataclass(frozen=True)
class Acl:
    """Allow ``principal`` to do ``operation`` on the resource (literal name, any host)."""

    principal: str  # "User:<name>"
    resource: str  # topic | group | cluster
    name: str
    operation: str

    def request_args(self) -> tuple:
        return (RESOURCE[self.resource], self.name, PATTERN_LITERAL, self.principal, "*", OPERATION[self.operation], ALLOW)


def service_acls(services: Iterable[str] = SERVICES, groups: Mapping[str, str] | None = None) -> list[Acl]:
    """Each service's ACLs, from the topic registry: write (and create) what it produces and its dead-letter
    topic; read what it consumes, with its own consumer group (``groups[service]``, else the service's name)."""
    acls: list[Acl] = []
    for service in services:
        user = f"User:{service}"
        group = (groups or {}).get(service, service)
        for topic in TOPICS:
            if topic.producer == service:
                acls += [Acl(user, "topic", topic.name, op) for op in ("write", "describe", "create")]
            if service in topic.consumers:
                acls += [Acl(user, "topic", topic.name, op) for op in ("read", "describe")]
        if any(service in t.consumers for t in TOPICS):
            dlq = dead_letter_topic(group)
            acls += [Acl(user, "topic", dlq, op) for op in ("write", "describe", "create", "read")]
            acls.append(Acl(user, "group", group, "read"))
    return acls


def acl_commands(services: Iterable[str] = SERVICES, groups: Mapping[str, str] | None = None,
                 bootstrap: str = "$BOOTSTRAP", config: str = "admin.properties") -> list[str]:
    """`service_acls` as ``kafka-acls.sh`` commands, for an operator provisioning a production cluster."""
    out = []
    for acl in service_acls(services, groups):
        flag = {"topic": "--topic", "group": "--group", "cluster": "--cluster"}[acl.resource]
        target = f"{flag} '{acl.name}'" if acl.resource != "cluster" else flag
        out.append(f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config {config} --add "
                   f"--allow-principal '{acl.principal}' --operation {acl.operation.title().replace('_', '')} {target}")
    return out


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


class KafkaSecurity:
    """The files and credentials of a secured broker, kept under ``directory`` (made once, reused on restart).

    ``users`` are the SCRAM users besides ``admin``: by default every service of the topic registry.
    """

    def __init__(self, directory: str | Path, users: Iterable[str] = SERVICES, *, groups: Mapping[str, str] | None = None):
        self.directory = Path(directory).resolve()
        self.groups = dict(groups or {})
        self.directory.mkdir(parents=True, exist_ok=True)
        store = self.directory / "users.json"
        known = json.loads(store.read_text()) if store.exists() else {}
        wanted = [ADMIN, *users]
        # token_hex: no character that the --add-scram or JAAS syntax would need quoted
        self.passwords: dict[str, str] = {u: known.get(u) or secrets.token_hex(24) for u in wanted}
        if self.passwords != known:
            _write_private(store, json.dumps(self.passwords, indent=2).encode())
        self._make_tls()

    # -- files

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def broker_pem(self) -> Path:
        """The broker's PEM keystore: private key (PKCS#8) then certificate chain."""
        return self.directory / "broker.pem"

    def _make_tls(self) -> None:
        if self.ca_file.exists() and self.broker_pem.exists():
            return
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pana-kafka-test-ca")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now)
              .not_valid_after(now + dt.timedelta(days=365))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BROKER_CN)]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        _write_private(self.broker_pem, key_pem + cert.public_bytes(pem) + ca.public_bytes(pem))
        self.ca_file.write_bytes(ca.public_bytes(pem))

    # -- the broker

    def server_properties(self, port: int, controller_port: int, host: str) -> dict[str, Any]:
        admin = self.passwords[ADMIN]
        return {
            "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"SASL_SSL://{host}:{port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" password="{admin}";',
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.broker_pem),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "ssl.endpoint.identification.algorithm": "https",
            "listener.name.controller.ssl.client.auth": "required",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN};User:CN={BROKER_CN}",
            "auto.create.topics.enable": "false",
        }

    def format_arguments(self) -> list[str]:
        """``--add-scram`` for every user: the credentials exist before the broker first listens."""
        out: list[str] = []
        for user, password in self.passwords.items():
            out += ["--add-scram", f"{MECHANISM}=[name={user},password={password}]"]
        return out

    # -- clients

    def ssl_context(self) -> ssl.SSLContext:
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(cafile=str(self.ca_file))

    def client_options(self, user: str | None = ADMIN, password: str | None = None) -> dict[str, Any]:
        """aiokafka keyword arguments for ``user`` (``None``: TLS but no SASL login, which the broker refuses)."""
        options: dict[str, Any] = {"security_protocol": "SASL_SSL", "ssl_context": self.ssl_context(),
                                   "sasl_mechanism": MECHANISM}
        if user is not None:
            options.update(sasl_plain_username=user, sasl_plain_password=password or self.passwords[user])
        return options

    def service_environment(self, service: str, prefix: str) -> dict[str, str]:
        """The variables that make a service speak to this broker as itself (``prefix`` e.g. ``RSD_``)."""
        return {
            f"{prefix}KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            f"{prefix}KAFKA_SASL_MECHANISM": MECHANISM,
            f"{prefix}KAFKA_SASL_USERNAME": service,
            f"{prefix}KAFKA_SASL_PASSWORD": self.passwords[service],
            f"{prefix}KAFKA_SSL_CAFILE": str(self.ca_file),
        }

    def settings_values(self, service: str) -> dict[str, Any]:
        """The same as `ServiceSettings` keyword arguments."""
        return {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": MECHANISM,
                "kafka_sasl_username": service, "kafka_sasl_password": self.passwords[service],
                "kafka_ssl_cafile": str(self.ca_file)}

    # -- provisioning

    async def provision(self, bootstrap: str, *, replication_factor: int = 1, timeout_ms: int = 15_000) -> None:
        """As ``admin``: create the registry's topics and the services' dead-letter topics, then the ACLs."""
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.client import AIOKafkaClient
        from aiokafka.protocol.admin import CreateAclsRequest

        services = [u for u in self.passwords if u != ADMIN]
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, **self.client_options())
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=replication_factor) for t in TOPICS]
            wanted += [NewTopic(dead_letter_topic(self.groups.get(s, s)), num_partitions=1,
                                replication_factor=replication_factor)
                       for s in services if any(s in t.consumers for t in TOPICS)]
            wanted = [t for t in wanted if t.name not in existing]
            if wanted:
                response = await admin.create_topics(wanted, timeout_ms=timeout_ms)
                errors = [(t[0], t[1]) for t in response.topic_errors if t[1] not in (0, 36)]  # 36: already exists
                if errors:
                    raise RuntimeError(f"creating topics failed: {errors}")
        finally:
            await admin.close()
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, **self.client_options())
        await client.bootstrap()
        try:
            node = next(iter(client.cluster.brokers())).nodeId
            for acl in service_acls(services, self.groups):
                response = await client.send(node, CreateAclsRequest(*acl.request_args()))
                failed = [r for r in response.creation_responses if r[0] != 0]
                if failed:
                    raise RuntimeError(f"creating ACL {acl} failed: {failed}")
        finally:
            await client.close()
