"""Structured JSON logs carrying the trace id; never personal data (only ids)."""

from __future__ import annotations

import logging
import math
import re
import sys
from datetime import datetime, timezone

from .jsontext import encoder
from .tracing import current_trace_id

# Values that libraries put into exception texts: pydantic's input_value, SQLAlchemy's bound parameters,
# PostgreSQL's "Key (column)=(value)". Our own log calls pass ids only; these catch what libraries add.
_REDACTIONS = (
    (re.compile(r"input_value=.*?(?=, input_type=|\]$)", re.M), "input_value=<redacted>"),
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: <redacted>]"),
    (re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^()]*\))*\)"), r"\1=(<redacted>)"),
)


# Each pattern matches only text holding its literal: a text without any of them is returned as it is, without
# running the patterns (most lines, the access log's every line: a tenth of a line's cost, issue 16).
_REDACTION_MARKS = ("input_value=", "[parameters: ", "Key (")


def redact(text: str) -> str:
    if not any(mark in text for mark in _REDACTION_MARKS):
        return text
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


_ENCODE = encoder(ensure_ascii=False)  # json.dumps(..., ensure_ascii=False), its encoder built once
_second: tuple = (None, "")  # (the whole second, its "YYYY-MM-DDTHH:MM:SS") of the last line (one tuple: threads)


def utc_isoformat(created: float) -> str:
    """`datetime.fromtimestamp(created, timezone.utc).isoformat()`, the same text, with the date and time of the
    second reused from the line before (a log line's time costs a third of what it did). Microseconds rounded as
    `fromtimestamp` rounds them (half to even), and none shown when they are zero, as `isoformat` does."""
    fraction, whole = math.modf(created)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    elif micro < 0:  # before 1970
        whole, micro = whole - 1, micro + 1_000_000
    global _second
    second, text = _second
    if second != whole:
        text = datetime.fromtimestamp(whole, timezone.utc).isoformat()[:19]
        _second = (whole, text)
    return f"{text}.{micro:06d}+00:00" if micro else f"{text}+00:00"


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": utc_isoformat(record.created),
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
        return _ENCODE(entry)


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
