"""`python -m pana_events write-schemas | asyncapi` — regenerate the committed artefacts
(every event's JSON Schema, and `shared/pana-events/asyncapi.json`)."""

import json
import sys

from .asyncapi import asyncapi_document, write_asyncapi
from .schema import write_schemas

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "write-schemas"
    if command == "write-schemas":
        for path in [*write_schemas(), write_asyncapi()]:
            print(path)
    elif command == "asyncapi":
        print(json.dumps(asyncapi_document(), indent=2))
    else:
        sys.exit(f"unknown command {command!r}: use write-schemas or asyncapi")
