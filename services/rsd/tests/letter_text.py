"""Reading a rendered letter back as a person would: the text pdftotext extracts, and the language checks.

The language check, precisely. A letter's text is first stripped of the strings that legitimately stand in
another script: the persons' names as registered and their Latin forms, the decision-maker's name as the identity
provider gives it, the case reference and registration numbers, the law's number (`216-IV`) and the 1951
Convention's article designators (`1A(2)`, `1D`, `1E`, `1F`). What remains must then be:
- Kazakh: no Latin letter; no word of the Russian letter of the same decision, except the proper nouns both
  languages spell alike (`SHARED_KK_RU`);
- Russian: no Latin letter; no letter of the Kazakh alphabet outside Russian's (ә ғ қ ң ө ұ ү һ і);
- English: no Cyrillic letter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

KAZAKH_ONLY_LETTERS = set("ӘәҒғҚқҢңӨөҰұҮүҺһІі")
ARTICLE_DESIGNATORS = re.compile(r"\b\d[A-F](\(\d\))?(?=[\s\-;,.)]|$)")
LAW_NUMBER = "216-IV"
# Proper nouns a Kazakh and a Russian letter spell alike (place and street names in the offices' addresses).
SHARED_KK_RU = frozenset({"Алматы", "Абай", "Абая", "Астана", "Шымкент"})
_WORD = re.compile(r"[^\W\d_]+")


def pdftotext(pdf: bytes) -> str:
    """The text of a PDF as `pdftotext` (poppler-utils) extracts it, lines joined: a phrase may wrap."""
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("PANA_REQUIRE_PDFTOTEXT") == "1":
            pytest.fail("pdftotext is required (CI installs poppler-utils: apt-get install poppler-utils)")
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed: the PDF text cannot be read back")
    out = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(out.decode("utf-8").split())


def strip_legitimate(text: str, allowed: list[str]) -> str:
    for value in sorted((a for a in allowed if a), key=len, reverse=True):
        text = text.replace(value, " ")
    text = text.replace(LAW_NUMBER, " ")
    return ARTICLE_DESIGNATORS.sub(" ", text)


def words(text: str) -> set[str]:
    return set(_WORD.findall(text))


def language_faults(text: str, lang: str, allowed: list[str], russian_letter: str | None = None) -> list[str]:
    """What in `text` is not in `lang` (empty when the letter is all in its language), per the module's rules."""
    rest = strip_legitimate(text, allowed)
    faults = []
    if lang in ("kk", "ru"):
        faults += sorted(w for w in words(rest) if re.search("[A-Za-z]", w))
    if lang == "ru":
        faults += sorted(w for w in words(rest) if KAZAKH_ONLY_LETTERS & set(w))
    if lang == "kk" and russian_letter is not None:
        russian = words(strip_legitimate(russian_letter, allowed))
        faults += sorted((words(rest) & russian) - SHARED_KK_RU)
    if lang == "en":
        faults += sorted(w for w in words(rest) if re.search("[\u0400-\u052f]", w))
    return faults
