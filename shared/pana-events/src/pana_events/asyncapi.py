"""AsyncAPI 3.0 document generated from the topic registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .envelope import CONTENT_TYPE, EXTENSIONS
from .schema import event_schema
from .topics import TOPICS

_HEADERS_SCHEMA = {
    "type": "object",
    "description": "CloudEvents 1.0 binary mode (Kafka protocol binding): every attribute is a ce_* header, except "
                   "datacontenttype, which is the Kafka `content-type` header.",
    "properties": {
        **{f"ce_{a}": {"type": "string"} for a in ("id", "source", "type", "specversion", "time", "subject")},
        **{f"ce_{a}": {"type": "string"} for a in EXTENSIONS},
        "content-type": {"type": "string", "const": CONTENT_TYPE, "description": "The event's datacontenttype"},
        "ce_datacontenttype": {"type": "string", "deprecated": True,
                               "description": "Carried by records written before issue 17 beside `content-type`; "
                                              "no longer written. Consumers still accept it."},
    },
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject"],
}

# Where the topics live. The host is the deployment's (each service's KAFKA_BOOTSTRAP); outside dev mode every
# client speaks SASL_SSL with SCRAM-SHA-512 (or mutual TLS), pana_kit.kafka.security_options.
_SERVERS = {
    "production": {
        "host": "{bootstrap}",
        "protocol": "kafka-secure",
        "description": "The deployment's Kafka cluster: SASL_SSL, SCRAM-SHA-512 (or mutual TLS), one principal "
                       "per service with ACLs on its own topics.",
        "variables": {"bootstrap": {"default": "kafka.pana.gov.kz:9093",
                                    "description": "host:port of a bootstrap broker (<PREFIX>KAFKA_BOOTSTRAP)"}},
        "security": [{"$ref": "#/components/securitySchemes/scram"}],
    },
    "development": {
        "host": "localhost:9092",
        "protocol": "kafka",
        "description": "`make run`: a local broker in dev mode, PLAINTEXT on loopback only.",
    },
}


def _message_name(event_type: str) -> str:
    return event_type.replace(".", "_")


def asyncapi_document(service: str | None = None, version: str = "1.0.0") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in TOPICS:
        channel_id = topic.name.replace(".", "_")
        channel_messages = {}
        for event in topic.events:
            name = _message_name(event.event_type)
            messages[name] = {
                "name": event.event_type,
                "title": event.event_type,
                "summary": (event.__doc__ or "").strip().splitlines()[0] if event.__doc__ else event.event_type,
                "contentType": "application/json",
                "headers": _HEADERS_SCHEMA,
                "payload": event_schema(event.event_type),
                "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = {
            "address": topic.name,
            "description": f"{topic.description} Key: {topic.key}. Consumers: {', '.join(topic.consumers)}.",
            "messages": channel_messages,
            "bindings": {"kafka": {"partitions": topic.partitions}},
        }
        if service is None or service == topic.producer:
            operations[f"publish_{channel_id}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": f"{topic.producer} publishes",
            }
        if service is None or service in topic.consumers:
            for consumer in topic.consumers if service is None else (service,):
                operations[f"{consumer.replace('-', '_')}_consumes_{channel_id}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{channel_id}"},
                    "summary": f"{consumer} consumes",
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Pana events{'' if service is None else ' — ' + service}",
            "version": version,
            "description": "Events of Kazakhstan's protection procedures. Delivery is at least once; deduplicate by ce_id.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "securitySchemes": {"scram": {
            "type": "scramSha512", "description": "SASL/SCRAM-SHA-512 over TLS, a principal per service"}}},
    }


# The committed document beside the package's pyproject (read by integrators without running anything).
COMMITTED_ASYNCAPI = Path(__file__).resolve().parents[2] / "asyncapi.json"


def asyncapi_text() -> str:
    return json.dumps(asyncapi_document(), indent=2) + "\n"


def write_asyncapi(path: Path = COMMITTED_ASYNCAPI) -> Path:
    path.write_text(asyncapi_text())
    return path
