"""The deciding authority of each office as letters state it: read from a TOML file and checked at start-up."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

PACKAGED_OFFICES = Path(__file__).parent / "offices.toml"
LANGUAGES = ("kk", "ru", "en")
TEXTS = ("authority", "address", "decision_maker_title", "appeal_body", "appeal_address")
_CYRILLIC = frozenset(chr(c) for c in range(0x0400, 0x0530))


class OfficesError(ValueError):
    """The offices file is missing, malformed or incomplete (the service refuses to start)."""


@dataclass(frozen=True)
class Office:
    code: str
    texts: dict[str, dict[str, str]]  # text name -> language -> text
    confirmed: bool

    def text(self, name: str, lang: str) -> str:
        return self.texts[name][lang]


def load_offices(path: str | Path | None = None, *, required: tuple[str, ...] = ()) -> dict[str, Office]:
    """Every office in the file, checked: each text in each language, Kazakh and Russian texts in Cyrillic, English
    ones without Cyrillic, no unknown keys, and the `required` offices present."""
    path = Path(path) if path else PACKAGED_OFFICES
    where = f"offices file {path} (RSD_LETTER_OFFICES_FILE)"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OfficesError(f"{where}: {exc}") from exc
    offices = {}
    for code, table in raw.items():
        if not isinstance(table, dict):
            raise OfficesError(f"{where}: [{code}] is not a table")
        unknown = set(table) - {*TEXTS, "confirmed"}
        if unknown:
            raise OfficesError(f"{where}: [{code}] has unknown key(s) {', '.join(sorted(unknown))}")
        texts = {}
        for name in TEXTS:
            given = table.get(name)
            if not isinstance(given, dict):
                raise OfficesError(f"{where}: [{code}] {name} is missing (one text per language: kk, ru, en)")
            for lang in LANGUAGES:
                text = given.get(lang)
                if not isinstance(text, str) or not text.strip():
                    raise OfficesError(f"{where}: [{code}] {name}.{lang} is missing or empty")
                cyrillic = any(ch in _CYRILLIC for ch in text)
                if lang in ("kk", "ru") and not cyrillic:
                    raise OfficesError(f"{where}: [{code}] {name}.{lang} is not written in Cyrillic")
                if lang == "en" and cyrillic:
                    raise OfficesError(f"{where}: [{code}] {name}.en has Cyrillic letters")
            extra = set(given) - set(LANGUAGES)
            if extra:
                raise OfficesError(f"{where}: [{code}] {name} has unknown language(s) {', '.join(sorted(extra))}")
            texts[name] = {lang: given[lang].strip() for lang in LANGUAGES}
        confirmed = table.get("confirmed", True)
        if not isinstance(confirmed, bool):
            raise OfficesError(f"{where}: [{code}] confirmed is true or false")
        offices[code] = Office(code=code, texts=texts, confirmed=confirmed)
    missing = [code for code in required if code not in offices]
    if missing:
        raise OfficesError(f"{where}: no office {', '.join(missing)} (RSD_DEFAULT_OFFICE names it)")
    for office in offices.values():
        if not office.confirmed:
            logging.getLogger("rsd").warning("letters: the address of office %s is an example to confirm (%s)",
                                             office.code, path)
    return offices
