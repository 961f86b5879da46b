"""JSON Schema of every event, and the compatibility rule a change must keep.

The committed schemas (`schemas/*.json` in this package) are what consumers
rely on. `breaking_changes(old, new)` lists what would break one: a field
removed (or renamed), retyped, or newly required.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from .topics import EVENT_TYPES

SCHEMA_DIR = Path(str(resources.files(__package__).joinpath("schemas")))


def event_schema(event_type: str) -> dict[str, Any]:
    schema = EVENT_TYPES[event_type].model_json_schema(mode="serialization")
    schema["$id"] = f"urn:pana:event:{event_type}"
    schema["title"] = event_type
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    return {t: event_schema(t) for t in sorted(EVENT_TYPES)}


def committed_schemas(directory: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in all_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return root.get("$defs", {}).get(ref.split("/")[-1], {})
    return schema


def _type_signature(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """What a consumer parses: types, formats, enums and nested shapes (not titles)."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return ("anyOf", sorted((json.dumps(_type_signature(s, root), sort_keys=True) for s in schema["anyOf"])))
    sig: dict[str, Any] = {k: schema[k] for k in ("type", "format", "pattern", "const") if k in schema}
    if "enum" in schema:
        sig["enum"] = sorted(map(str, schema["enum"]))
    if "items" in schema:
        sig["items"] = _type_signature(schema["items"], root)
    if "properties" in schema:
        sig["properties"] = {k: _type_signature(v, root) for k, v in schema["properties"].items()}
    return sig


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """Changes from `old` to `new` that would break a consumer written against `old`."""
    problems: list[str] = []
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    for name, old_field in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"{where}: removed or renamed")
            continue
        old_sig = _type_signature(old_field, old)
        new_sig = _type_signature(new_props[name], new)
        if old_sig != new_sig:
            # Widening an enum is a compatible change for producers we own; narrowing is not.
            if isinstance(old_sig, dict) and isinstance(new_sig, dict) and set(old_sig) == set(new_sig) == {"type", "enum"}:
                if set(old_sig["enum"]) <= set(new_sig["enum"]):
                    continue
            problems.append(f"{where}: type changed from {json.dumps(old_sig, sort_keys=True)} to {json.dumps(new_sig, sort_keys=True)}")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{path}{name}: made required")
    return problems
