"""Names across scripts: transliteration to Latin (stored once), matching keys, blocking keys.

Transliteration follows the readable passport-style romanisation used in Central Asia
(х -> kh, ж -> zh, ш -> sh, ю -> yu, ...); Kazakh letters take their nearest Latin
letter without diacritics (ә -> a, қ -> k, ұ/ү -> u, і -> i) so that the stored Latin
form is plain ASCII. Arabic script is romanised letter by letter; short vowels appear
only when the text carries harakat.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Kazakh
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
    # Ukrainian / Uzbek / Kyrgyz / Tajik letters met in the caseload
    "є": "ye", "ї": "yi", "ґ": "g", "ў": "o", "ҳ": "h", "ҷ": "j", "ӣ": "i", "ӯ": "u",
}

_ARABIC = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ء": "", "ؤ": "", "ئ": "",
    "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh",
    "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z",
    "ع": "", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n",
    "ه": "h", "ة": "a", "ى": "a",
    # Persian, Dari, Pashto, Urdu
    "پ": "p", "چ": "ch", "ژ": "zh", "گ": "g", "ک": "k", "ی": "y", "ے": "e", "ٹ": "t", "ڈ": "d",
}
_ARABIC_SEMIVOWELS = {"و": ("w", "u"), "ي": ("y", "i"), "ی": ("y", "i")}
_HARAKAT = {"\u064e": "a", "\u064f": "u", "\u0650": "i", "\u0652": "", "\u064b": "an",
            "\u064c": "un", "\u064d": "in", "\u0670": "a"}
_SHADDA = "\u0651"
_TATWEEL = "\u0640"


@lru_cache(maxsize=65_536)  # pure, and names repeat: ~20 calls a registration (cProfile, issue 16)
def script_of(text: str) -> str:
    """'cyrillic', 'arabic', 'latin', 'mixed' or 'none' (no letters)."""
    scripts = set()
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("CYRILLIC"):
            scripts.add("cyrillic")
        elif name.startswith("ARABIC"):
            scripts.add("arabic")
        elif name.startswith("LATIN"):
            scripts.add("latin")
        else:
            scripts.add("other")
    if not scripts:
        return "none"
    return scripts.pop() if len(scripts) == 1 else "mixed"


def _cased(latin: str, upper: bool, next_is_upper: bool) -> str:
    if not upper or not latin:
        return latin
    return latin.upper() if next_is_upper else latin[0].upper() + latin[1:]


def _transliterate_cyrillic(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        low = ch.lower()
        if low in _CYRILLIC:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            out.append(_cased(_CYRILLIC[low], ch != low, nxt.isupper()))
        else:
            out.append(ch)
    return "".join(out)


def _transliterate_arabic(text: str) -> str:
    out: list[str] = []
    at_word_start = True
    for ch in text:
        if ch == _TATWEEL:
            continue
        if ch == _SHADDA:
            # doubles the last consonant, even when a vowel mark was written before it
            for i in range(len(out) - 1, -1, -1):
                if out[i] and out[i][-1] not in "aiu":
                    if i == len(out) - 1:
                        out.append(out[i][-1])
                    else:
                        out.insert(i + 1, out[i][-1])
                    break
            continue
        if ch in _HARAKAT:
            out.append(_HARAKAT[ch])
            continue
        if ch in _ARABIC_SEMIVOWELS:
            consonant, vowel = _ARABIC_SEMIVOWELS[ch]
            out.append(consonant if at_word_start else vowel)
            at_word_start = False
            continue
        if ch in _ARABIC:
            out.append(_ARABIC[ch])
            at_word_start = False
            continue
        out.append(ch)
        at_word_start = not ch.isalpha()
    words = "".join(out).split(" ")
    return " ".join(w[:1].upper() + w[1:] for w in words)


@lru_cache(maxsize=65_536)
def transliterate(text: str) -> str:
    """Latin form of a name written in Cyrillic (Russian, Kazakh), Arabic script or Latin.

    Latin input is returned with its letters as written (diacritics kept: 'Nūrlybekov').
    """
    text = unicodedata.normalize("NFC", text.strip())
    if not text:
        return ""
    script = script_of(text)
    if script in ("latin", "none"):
        return text
    result = _transliterate_cyrillic(text)
    if script_of(result) in ("arabic", "mixed"):
        result = _transliterate_arabic(result)
    # ZWNJ/ZWJ shape letters in Arabic script and Indic scripts ("علی‌زاده"); a Latin form has nothing to shape.
    result = result.replace("\u200c", "").replace("\u200d", "")
    return re.sub(r"\s+", " ", result).strip()


# --- matching -----------------------------------------------------------------------

# Kazakh Latin (2021) and other letters that NFKD does not reduce to ASCII.
_LATIN_FOLD = str.maketrans({
    "ı": "i", "İ": "i", "ğ": "g", "ñ": "n", "ş": "sh", "ç": "ch", "ß": "ss", "ø": "o",
    "æ": "ae", "œ": "oe", "đ": "d", "ł": "l", "ʼ": "", "'": "", "`": "", "’": "", "ʻ": "",
})
_CONSONANT_CLUSTERS = (
    ("shch", "sh"), ("dzh", "j"), ("tch", "ch"), ("kh", "h"), ("gh", "g"), ("zh", "j"),
    ("dj", "j"), ("ph", "f"), ("ts", "c"), ("th", "t"), ("dh", "d"), ("q", "k"), ("w", "v"),
    ("x", "ks"), ("ck", "k"), ("ou", "u"), ("ee", "i"), ("oo", "u"), ("y", "i"), ("j", "j"),
)

# Common variant spellings mapped to one form (matched on the folded key, after clusters).
NAME_VARIANTS: dict[str, str] = {
    "mohamad": "muhamad", "mohamed": "muhamad", "muhamed": "muhamad", "mohamet": "muhamad",
    "muhamet": "muhamad", "mahamad": "muhamad", "mahamed": "muhamad", "magomed": "muhamad",
    "mamed": "muhamad", "mehmet": "muhamad", "mehmed": "muhamad", "mohammad": "muhamad",
    "ahmed": "ahmad", "ahmet": "ahmad", "ahmat": "ahmad", "ahmadi": "ahmad",
    "iusuf": "iusuf", "iusef": "iusuf", "iosif": "iusuf", "iosef": "iusuf", "jusuf": "iusuf",
    "ibragim": "ibrahim", "ibrahem": "ibrahim", "ebrahim": "ibrahim",
    "hasan": "hasan", "gasan": "hasan", "hassan": "hasan",
    "husein": "husain", "gusein": "husain", "husain": "husain", "husejn": "husain",
    "abdulah": "abdulah", "abdula": "abdulah", "abdalah": "abdulah",
    "aliev": "aliev", "alijev": "aliev", "aliiev": "aliev",
}


def fold(text: str) -> str:
    """Lower case ASCII letters and spaces: transliterated, diacritics and apostrophes gone."""
    text = transliterate(text).translate(_LATIN_FOLD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().translate(_LATIN_FOLD)
    text = re.sub(r"[^a-z]+", " ", text)
    return text.strip()


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


@lru_cache(maxsize=65_536)
def match_key(text: str) -> str:
    """Normalised form for comparing names across scripts and spellings.

    'Мухаммад', 'Mukhammad', 'Muhammad', 'MOHAMMAD', 'Mohammed' -> 'muhamad';
    'Нұрлыбеков', 'Nūrlybekov', 'Nurlybekov' -> 'nurlibekov'.
    """
    words = []
    for word in fold(text).split():
        for src, dst in _CONSONANT_CLUSTERS:
            word = word.replace(src, dst)
        word = _squeeze(word)
        word = NAME_VARIANTS.get(word, word)
        words.append(word)
    return " ".join(words)


_PHONETIC_GROUPS = str.maketrans({
    "b": "p", "p": "p", "f": "f", "v": "f", "c": "s", "s": "s", "z": "s", "k": "k", "g": "k",
    "d": "t", "t": "t", "j": "j", "l": "l", "m": "m", "n": "n", "r": "r",
})


def skeleton(text: str) -> str:
    """Consonant skeleton of the match key (vowels, h and semivowels dropped, doubles squeezed).

    Unvoweled Arabic 'محمد' and 'Muhammad' both give 'mmt' -> 'mt'.
    """
    key = match_key(text).replace(" ", "")
    consonants = re.sub(r"[aeiouhy]", "", key).translate(_PHONETIC_GROUPS)
    return _squeeze(consonants)


def blocking_key(text: str, length: int = 4) -> str:
    """Phonetic-ish key for blocking: first letter of the match key + consonant skeleton."""
    key = match_key(text).replace(" ", "")
    if not key:
        return ""
    first = key[0].translate(_PHONETIC_GROUPS)
    rest = skeleton(text)
    if rest.startswith(first):
        rest = rest[1:]
    return (first + rest)[:length]


_PATRONYMIC_SUFFIXES = (
    "ovichna", "evichna", "ovich", "evich", "ovna", "evna", "ichna", "ich", "ulı", "uly",
    "ulu", "kyzy", "kizi", "kyzi", "qyzy", "ogli", "ugli", "ogly", "oglu", "zoda", "zade",
)


def patronymic_stem(patronymic: str) -> str:
    """Match key of the father's name inside a patronymic ('Мухаммадович', 'Мұхаммедұлы',
    'Mukhammad uly' -> 'muhamad'); empty when no patronymic suffix is recognised."""
    words = fold(patronymic).split()
    if not words:
        return ""
    if len(words) > 1 and words[-1] in {"uly", "ulu", "kyzy", "kizi", "ogli", "ugli", "ogly", "oglu", "ibn", "bin"}:
        return match_key(" ".join(words[:-1]))
    word = words[0]
    for suffix in _PATRONYMIC_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            return match_key(word[: -len(suffix)])
    return ""


# --- normalised names (pure and cached: a matching engine may also keep them beside each person) ------


@dataclass(frozen=True)
class NameForm:
    """One spelling of a name, normalised once for comparing and blocking."""
    key: str  # match_key: compared by equality and Jaro-Winkler
    skeleton: str  # consonant skeleton: compared only when a side is written in Arabic script
    arabic: bool  # written in Arabic script (short vowels usually unwritten)
    block: str  # phonetic blocking key (first letter + consonant skeleton, 4 characters)


@lru_cache(maxsize=262_144)
def name_form(text: str, block_length: int = 4) -> NameForm:
    """`NameForm` of one spelling; cached, since the same names recur across a register."""
    arabic = any(script_of(ch) == "arabic" for ch in text if ch.isalpha())
    return NameForm(match_key(text), skeleton(text), arabic, blocking_key(text, block_length))


@lru_cache(maxsize=262_144)
def name_forms(value: str, block_length: int = 4) -> tuple[NameForm, ...]:
    """The forms of a name field; spellings are separated by '|' ('Мухаммад|Mukhammad': original and Latin)."""
    forms = []
    for part in value.split("|"):
        if part.strip():
            form = name_form(part, block_length)
            if form.key and form not in forms:
                forms.append(form)
    return tuple(forms)


@lru_cache(maxsize=65_536)
def cached_patronymic_stem(value: str) -> str:
    return patronymic_stem(value.split("|")[0]) if value else ""
