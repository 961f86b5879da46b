"""AsyncAPI 3.0 document generated from the topic registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .envelope import EXTENSIONS
from .schema import event_schema
from .topics import TOPICS

_HEADERS_SCHEMA = {
    "type": "object",
    "description": "CloudEvents 1.0 binary mode: every attribute is a ce_* header.",
    "properties": {
        **{f"ce_{a}": {"type": "string"} for a in ("id", "source", "type", "specversion", "time", "subject", "datacontenttype")},
        **{f"ce_{a}": {"type": "string"} for a in EXTENSIONS},
    },
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject"],
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
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


# The committed document beside the package's pyproject (read by integrators without running anything).
COMMITTED_ASYNCAPI = Path(__file__).resolve().parents[2] / "asyncapi.json"


def asyncapi_text() -> str:
    return json.dumps(asyncapi_document(), indent=2) + "\n"


def write_asyncapi(path: Path = COMMITTED_ASYNCAPI) -> Path:
    path.write_text(asyncapi_text())
    return path
