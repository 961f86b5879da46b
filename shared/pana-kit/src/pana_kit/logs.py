"""Structured JSON logs carrying the trace id; never personal data (only ids)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

from .tracing import current_trace_id

# Values that libraries put into exception texts: pydantic's input_value, SQLAlchemy's bound parameters,
# PostgreSQL's "Key (column)=(value)". Our own log calls pass ids only; these catch what libraries add.
_REDACTIONS = (
    (re.compile(r"input_value=.*?(?=, input_type=|\]$)", re.M), "input_value=<redacted>"),
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: <redacted>]"),
    (re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^()]*\))*\)"), r"\1=(<redacted>)"),
)


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, "pana_fields", None)  # structured fields (the access log's), never free text
        if fields:
            entry.update(fields)
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    # Keep test capture handlers (pana_dev.testing.capture_json_logs) across app creation.
    root.handlers[:] = [handler, *(h for h in root.handlers if getattr(h, "pana_capture", False))]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "sqlalchemy.engine", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level) if isinstance(logging.getLevelName(level), int) else logging.WARNING))
    # aiokafka logs every failed connection at ERROR while the broker is away; we log our own retries.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
