"""The access log's cheaper path (issue 16): `access_record` gives the record `Logger.makeRecord` gave, the
formatter's access line is the text of its generic line, and `LineHandler` writes a loop turn's lines at once,
in order, never leaving one behind."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from pana_kit import middleware
from pana_kit.logs import AccessRecord, JsonFormatter, LineHandler, access_record

ROUTE = "/api/v1/verify/{document_number}"


def _made(logger, level, method, route, status, duration_ms, request_id):
    return logger.makeRecord(logger.name, level, middleware.__file__, 0, "%s %s %s", (method, route, status), None,
                             "_secured", {"pana_fields": {"method": method, "route": route, "status": status,
                                                          "duration_ms": duration_ms, "request_id": request_id}})


def test_an_access_record_has_the_attributes_make_record_gives():
    logger = logging.getLogger("pana.access")
    for level in (logging.INFO, logging.DEBUG):
        for _ in range(2):  # made from a new template, then from the held one
            ours = access_record(logger, level, "GET", ROUTE, 200, 0.25, "ab" * 16, pathname=middleware.__file__,
                                 func="_secured")
            theirs = _made(logger, level, "GET", ROUTE, 200, 0.25, "ab" * 16)
            mine, made = dict(vars(ours)), dict(vars(theirs))
            assert mine.pop("args_fields") == ("GET", ROUTE, 200, 0.25, "ab" * 16)
            for varying in ("created", "msecs", "relativeCreated"):
                assert abs(mine.pop(varying) - made.pop(varying)) < 1000
            assert mine == made
            assert isinstance(ours, logging.LogRecord) and ours.getMessage() == f"GET {ROUTE} 200"
            assert ours.msecs == int((ours.created - int(ours.created)) * 1000)


def test_a_record_factory_of_someone_elses_makes_the_record():
    made = []
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        made.append(record)
        return record

    logging.setLogRecordFactory(factory)
    try:
        record = access_record(logging.getLogger("pana.access"), logging.INFO, "GET", ROUTE, 200, 1.0, "c" * 32,
                               pathname=middleware.__file__, func="_secured")
    finally:
        logging.setLogRecordFactory(previous)
    assert made == [record] and type(record) is not AccessRecord
    assert record.pana_fields["request_id"] == "c" * 32


def test_the_access_line_is_the_generic_lines_text():
    formatter = JsonFormatter("registration")
    logger = logging.getLogger("pana.access")
    cases = [("GET", ROUTE, 200, 0.101, "640d17be04cba91257ea3735c5fb125d"),
             ("POST", "/api/v1/persons", 201, 12.0, "7c9e6679-7425-40de-944b-e07fc1f0d2f1"),
             ("other", "unmatched", 404, 1234.567, "0" * 32),
             ("GET", '/x/"quoted"/\\/ünïcode/{id}', 500, 0.0, "f" * 16),
             ("GET", "/healthz", 200, 3e-05, "1" * 32)]
    for level in (logging.INFO, logging.DEBUG):
        for case in cases * 2:  # the second time from the held text
            record = access_record(logger, level, *case, pathname=middleware.__file__, func="_secured")
            line = formatter.format(record)
            assert line == formatter._line(record)
            generic = _made(logger, level, *case)
            generic.created = record.created
            assert line == formatter._line(generic)
            assert json.loads(line)["duration_ms"] == case[3]
    # with a trace id: the same field, last
    context = SpanContext(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, is_remote=True,
                          trace_flags=TraceFlags(1))
    with trace.use_span(NonRecordingSpan(context)):
        record = access_record(logger, logging.INFO, *cases[0], pathname=middleware.__file__, func="_secured")
        line = formatter.format(record)
        assert line == formatter._line(record)
    assert json.loads(line)["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def _handler(stream) -> LineHandler:
    handler = LineHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    return handler


def _record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("pana.test", level, __file__, 0, message, (), None)


async def test_a_loop_turns_lines_are_written_together_after_it():
    stream = io.StringIO()
    handler = _handler(stream)
    handler.handle(_record(logging.INFO, "one"))
    handler.handle(_record(logging.INFO, "two"))
    assert stream.getvalue() == ""  # held until the turn ends
    await asyncio.sleep(0)
    assert stream.getvalue() == "INFO one\nINFO two\n"
    handler.handle(_record(logging.INFO, "three"))
    handler.handle(_record(logging.WARNING, "four"))  # a warning: at once, after what was held
    assert stream.getvalue() == "INFO one\nINFO two\nINFO three\nWARNING four\n"
    handler.handle(_record(logging.DEBUG, "five"))
    handler.flush()  # logging's shutdown, close
    assert stream.getvalue().endswith("WARNING four\nDEBUG five\n")
    await asyncio.sleep(0)
    assert stream.getvalue().count("five") == 1


async def test_no_more_lines_are_held_than_max_pending():
    stream = io.StringIO()
    handler = LineHandler(stream, max_pending=3)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(7):
        handler.handle(_record(logging.INFO, str(n)))
    assert stream.getvalue() == "0\n1\n2\n3\n"
    await asyncio.sleep(0)
    assert stream.getvalue() == "".join(f"{n}\n" for n in range(7))


def test_outside_a_loop_a_line_is_written_at_once_and_none_is_left_on_a_stopped_loop():
    stream = io.StringIO()
    handler = _handler(stream)
    handler.handle(_record(logging.INFO, "plain"))
    assert stream.getvalue() == "INFO plain\n"

    loop = asyncio.new_event_loop()

    async def log_and_stop():
        handler.handle(_record(logging.INFO, "held"))
        loop.stop()  # the turn's flush is scheduled, and never runs: the loop stops, then is closed

    loop.create_task(log_and_stop())
    loop.run_forever()
    loop.close()
    assert stream.getvalue() == "INFO plain\n"

    async def log_again():
        handler.handle(_record(logging.INFO, "again"))
        assert stream.getvalue() == "INFO plain\nINFO held\n"  # what the closed loop held: written first
        await asyncio.sleep(0)

    asyncio.run(log_again())
    assert stream.getvalue() == "INFO plain\nINFO held\nINFO again\n"
