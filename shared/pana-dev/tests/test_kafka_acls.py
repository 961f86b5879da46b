"""The ACLs the secured broker gets come from the topic registry and grant each service the least it needs."""

from pana_dev.launchers.kafka_security import SERVICES, acl_commands, service_acls
from pana_events.topics import TOPICS


def grants(service: str) -> set[tuple[str, str, str]]:
    return {(a.resource, a.name, a.operation) for a in service_acls([service]) if a.principal == f"User:{service}"}


def test_each_service_writes_only_its_own_topic_and_dead_letters_and_reads_what_it_consumes():
    assert SERVICES == ("civil-registry-bridge", "registration", "rsd", "statelessness")
    for service in SERVICES:
        mine = grants(service)
        written = {name for kind, name, op in mine if kind == "topic" and op in ("write", "create")}
        read = {name for kind, name, op in mine if kind == "topic" and op == "read"}
        produced = {t.name for t in TOPICS if t.producer == service}
        consumed = {t.name for t in TOPICS if service in t.consumers}
        assert written == produced | {f"{service}.dlq"}
        assert read == consumed | {f"{service}.dlq"}
        assert {name for kind, name, _ in mine if kind == "group"} == {service}
        assert not {op for _, _, op in mine} & {"all", "alter", "delete", "cluster_action"}
    assert ("topic", "rsd.events", "write") not in grants("registration")
    assert ("topic", "rsd.events", "read") not in grants("civil-registry-bridge")


def test_a_service_with_another_consumer_group_gets_that_group_and_its_dead_letter_topic():
    acls = {(a.resource, a.name, a.operation) for a in service_acls(["rsd"], {"rsd": "rsd-blue"})}
    assert ("group", "rsd-blue", "read") in acls and ("topic", "rsd-blue.dlq", "write") in acls
    assert ("group", "rsd", "read") not in acls


def test_the_acls_print_as_kafka_acls_commands_for_an_operator():
    commands = acl_commands(bootstrap="broker:9093")
    assert len(commands) == len(service_acls())
    assert ("kafka-acls.sh --bootstrap-server broker:9093 --command-config admin.properties --add "
            "--allow-principal 'User:rsd' --operation Write --topic 'rsd.events'") in commands
