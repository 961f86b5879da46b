"""Structured JSON logs carrying the trace id; never personal data (only ids)."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import sys
import threading
import time
from datetime import datetime, timezone
from json.encoder import encode_basestring

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
        self._access: dict[tuple, str] = {}  # an access line's text between its time and its duration, by kind

    def format(self, record: logging.LogRecord) -> str:
        if type(record) is AccessRecord and not record.exc_info:
            return self._access_line(record)
        return self._line(record)

    def _line(self, record: logging.LogRecord) -> str:
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

    def _access_line(self, record: "AccessRecord") -> str:
        """The same text as `_line` gives for the record (a test compares them), built from the text its level,
        logger, method, route and status make (computed once per such kind) and its time, duration and request id:
        the whole line's dict encoded again was a third of an access line's cost (issue 16)."""
        method, route, status, duration_ms, request_id = record.args_fields
        key = (record.levelname, record.name, method, route, status)
        middle = self._access.get(key)
        if middle is None:
            if len(self._access) >= 4096:  # bounded kinds (routes are templates), but never unbounded memory
                self._access.clear()
            middle = self._access[key] = _ENCODE({
                "level": record.levelname, "service": self.service, "logger": record.name,
                "message": redact(record.getMessage()), "method": method, "route": route, "status": status,
                "duration_ms": 0})[1:-2]  # '"level": ... "duration_ms": ' (the braces and the 0 cut off)
        trace_id = current_trace_id()
        return (f'{{"time": "{utc_isoformat(record.created)}", {middle}{duration_ms!r}, '
                f'"request_id": {encode_basestring(request_id)}'
                + (f', "trace_id": {encode_basestring(trace_id)}}}' if trace_id else "}"))


class AccessRecord(logging.LogRecord):
    """An access-log line's record (`access_record`); formatters see a LogRecord with the attributes
    `Logger.makeRecord` gives it, and `pana_fields`."""


_record_template: dict = {}


def access_record(logger: logging.Logger, level: int, method: str, route: str, status: int, duration_ms: float,
                  request_id: str, *, pathname: str, func: str) -> logging.LogRecord:
    """The record `logger.makeRecord(name, level, pathname, 0, "%s %s %s", (method, route, status), None, func,
    {"pana_fields": {...}})` makes, with the same attributes, without `LogRecord.__init__`'s per-record work (file
    name splitting, thread and process names looked up: a sixth of an access line's cost, issue 16). With a
    record factory other than LogRecord installed, that factory makes it (through `makeRecord`)."""
    fields = {"method": method, "route": route, "status": status, "duration_ms": duration_ms,
              "request_id": request_id}
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return logger.makeRecord(logger.name, level, pathname, 0, "%s %s %s", (method, route, status), None, func,
                                 {"pana_fields": fields})
    thread = threading.current_thread()
    key = (logger.name, level, pathname, func, thread.ident, thread.name)
    template = _record_template.get(key)
    if template is None:
        made = logging.LogRecord(logger.name, level, pathname, 0, "%s %s %s", (), None, func)
        template = dict(made.__dict__)
        for varying in ("created", "msecs", "relativeCreated", "args", "taskName"):
            template.pop(varying, None)
        if len(_record_template) >= 1024:
            _record_template.clear()
        _record_template[key] = template
    ct = time.time()
    record = AccessRecord.__new__(AccessRecord)
    record.__dict__ = {**template, "created": ct, "msecs": int((ct - int(ct)) * 1000) + 0.0,
                       "relativeCreated": (ct - logging._startTime) * 1000, "args": (method, route, status),
                       "args_fields": (method, route, status, duration_ms, request_id), "pana_fields": fields}
    if sys.version_info >= (3, 12):  # pragma: no cover - the task's name, as LogRecord takes it on 3.12
        record.taskName = None
        if logging.logAsyncioTasks:
            try:
                record.taskName = asyncio.current_task().get_name()
            except Exception:  # noqa: BLE001 - no task (LogRecord leaves it None too)
                pass
    return record


def _forget_templates_after_fork() -> None:
    _record_template.clear()  # the process id (and thread names) are the child's own


os.register_at_fork(after_in_child=_forget_templates_after_fork)


class LineHandler(logging.StreamHandler):
    """A StreamHandler that writes the lines logged below WARNING during one turn of an event loop with one
    `write` at the end of the turn (`loop.call_soon`), instead of a write and a flush a line: on a verification the
    access line's write was a seventh of its cost (issue 16). A WARNING or worse, a line logged outside a running
    loop, and `flush` (logging's shutdown, `close`) write everything pending at once, in order."""

    def __init__(self, stream=None, *, max_pending: int = 256):
        super().__init__(stream)
        self.max_pending = max_pending
        self._pending: list[str] = []
        self._scheduled = None  # the loop a flush of the pending lines is scheduled on

    def emit(self, record: logging.LogRecord) -> None:  # under self.lock (Handler.handle)
        try:
            line = self.format(record)
            pending = self._pending
            if record.levelno < logging.WARNING:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    loop = None
                if loop is not None and len(pending) < self.max_pending:
                    if self._scheduled is not loop:
                        if pending:  # scheduled on a loop that has stopped: never leave them behind
                            self._write()
                        self._scheduled = loop
                        loop.call_soon(self.flush)
                    pending.append(line)
                    return
            pending.append(line)
            self._write()
        except RecursionError:  # as StreamHandler.emit
            raise
        except Exception:
            self.handleError(record)

    def _write(self) -> None:
        pending = self._pending
        if pending:
            text = self.terminator.join(pending) + self.terminator
            pending.clear()
            self.stream.write(text)
            self.stream.flush()

    def flush(self) -> None:
        with self.lock:
            self._scheduled = None
            if self.stream is not None:
                self._write()
        super().flush()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = LineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    # Keep test capture handlers (pana_dev.testing.capture_json_logs) across app creation.
    root.handlers[:] = [handler, *(h for h in root.handlers if getattr(h, "pana_capture", False))]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "sqlalchemy.engine", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level) if isinstance(logging.getLevelName(level), int) else logging.WARNING))
    # aiokafka logs every failed connection at ERROR while the broker is away; we log our own retries.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
