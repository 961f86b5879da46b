"""API7 (server-side request forgery): no request of any service names a URL the service will call.

The services call only what operators configure (the registry's base URL, the JWKS URL, the broker). The bridge
builds the registry's callback URL itself from its own settings. This walks every service's OpenAPI: no
parameter or request-body property is a URI, and none is named like one — except the one callback URL a client
may give on purpose (issue 17): a webhook subscription's `url`, which `pana_kit.webhook_rules.check_callback_url`
guards (https only; private, loopback, link-local and metadata addresses refused outside dev mode; checked again
before every delivery; tested in test_webhook_rules.py).
"""

from __future__ import annotations

import importlib

import pytest
from pana_dev.testing import service_harness

#: The only URLs a request may name: checked by the SSRF guard of webhook subscriptions.
ALLOWED = {"POST /api/v1/webhooks/subscriptions url"}

SERVICES = {"registration": "RegistrationSettings", "rsd": "RsdSettings",
            "statelessness": "StatelessnessSettings", "civil_registry_bridge": "BridgeSettings"}


def _url_like(name: str, schema: dict) -> bool:
    return schema.get("format") in ("uri", "url", "iri") or any(
        part in name.lower() for part in ("url", "uri", "callback", "webhook", "endpoint"))


def _walk(schema: dict, components: dict, name: str, seen: set, found: list) -> None:
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return
        seen.add(ref)
        schema = components[ref.rsplit("/", 1)[-1]]
    if name and _url_like(name, schema):
        found.append(name)
    for key, sub in (schema.get("properties") or {}).items():
        _walk(sub, components, key, seen, found)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _walk(schema[key], components, name, seen, found)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            _walk(sub, components, name, seen, found)


@pytest.mark.parametrize("module", SERVICES)
async def test_no_request_names_a_url_for_the_service_to_call(tmp_path, module):
    create = importlib.import_module(f"{module}.app").create
    settings = getattr(importlib.import_module(f"{module}.settings"), SERVICES[module])
    async with service_harness(create, settings, tmp_path) as h:
        spec = (await h.client.get("/openapi.json")).json()
    components = spec.get("components", {}).get("schemas", {})
    found: list[str] = []
    operations = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            operations += 1
            for param in op.get("parameters", []):
                if _url_like(param["name"], param.get("schema", {})):
                    found.append(f"{method.upper()} {path} {param['name']}")
            for media in (op.get("requestBody") or {}).get("content", {}).values():
                names: list[str] = []
                _walk(media.get("schema", {}), components, "", set(), names)
                found.extend(f"{method.upper()} {path} {name}" for name in names)
    assert operations > 3
    assert set(found) - ALLOWED == set(), found
    assert set(found) == ALLOWED  # the subscription's url is there, and is the one guarded
