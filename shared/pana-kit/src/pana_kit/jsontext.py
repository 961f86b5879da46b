"""JSON text of plain values (dicts, lists, strings, numbers, None) on hot paths, the same text as `json.dumps`.

`json.dumps(value, separators=...)` builds a `JSONEncoder`, and every `encode` builds the C encoder again; on a
verification that was four times a request (the answer, the audit entry's journal line and hash, the access-log
line), a few microseconds each (issue 16). `encoder(...)` builds the C encoder once and returns a function that
gives exactly what `json.dumps(value, separators=..., ensure_ascii=..., allow_nan=...)` gives (a NaN or
infinity refused with `allow_nan=False` raises the same ValueError), for values without cycles (no
circular-reference check: hand it only values built for the occasion)."""

from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any, Callable


def encoder(*, separators: tuple[str, str] = (", ", ": "), ensure_ascii: bool = True,
            allow_nan: bool = True) -> Callable[[Any], str]:
    item_separator, key_separator = separators
    fallback = json.JSONEncoder(separators=separators, ensure_ascii=ensure_ascii, check_circular=False,
                                allow_nan=allow_nan)
    make = _encoder.c_make_encoder
    if make is None:  # pragma: no cover - CPython without its _json accelerator
        return fallback.encode
    chunks = make(None, fallback.default,
                  _encoder.encode_basestring_ascii if ensure_ascii else _encoder.encode_basestring,
                  None, key_separator, item_separator, False, False, allow_nan)
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    return encode


#: `json.dumps(value, separators=(",", ":"))`
compact = encoder(separators=(",", ":"))
