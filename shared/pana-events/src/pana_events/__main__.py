"""`python -m pana_events write-schemas | asyncapi` — regenerate the committed artefacts."""

import json
import sys

from .asyncapi import asyncapi_document
from .schema import write_schemas

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "write-schemas"
    if command == "write-schemas":
        for path in write_schemas():
            print(path)
    elif command == "asyncapi":
        print(json.dumps(asyncapi_document(), indent=2))
    else:
        sys.exit(f"unknown command {command!r}: use write-schemas or asyncapi")
