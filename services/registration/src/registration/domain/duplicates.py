"""Duplicate detection: scoring two person records across scripts and spellings.

Fellegi–Sunter: each field of a pair falls into a comparison level, each level weighs log2(m/u) from the
trained model (`matching_model.py`, `match_model.json`), and the score is the probability of one person. A
field missing on either side, or a differing document number, is no evidence. Caps no weight overrides keep
twins, siblings and relatives below "likely". The thresholds, caps, fields compared and blocking keys are data
(`MatchingConfig.from_dict`), not code.

For a matching engine: `normalise(record)` gives the precomputable `Normalised` value (its names are cached
`NameForm`s); `score_candidates(probe, candidates)` scores already-blocked candidates, records or `Normalised`,
without recomputing blocking keys; `name_level_of`/`birth_date_level` and `config.model.weight` let a vectorised
scorer grade and weigh whole columns at once.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from pana_kit.domain import Aggregate, RuleViolation

from .matching_model import FIELDS, LEVELS, MatchModel, default_model
from .names import NameForm, cached_patronymic_stem, match_key, name_forms, script_of, skeleton

BLOCKING_KINDS = ("family_phonetic", "given_phonetic", "given_family_phonetic", "name_pair_phonetic",
                  "name_phonetic", "birth_date", "birth_year", "document_number")

# Name similarity (best of Jaro-Winkler and token order ignored, on match keys) at or above these: levels
NAME_CLOSE = 0.92
NAME_SIMILAR = 0.84


@lru_cache(maxsize=1)
def _shipped_model() -> MatchModel:
    return default_model()


@dataclass(frozen=True)
class MatchingConfig:
    """The matching rules: the trained model (m/u per field and level), the fields compared, the thresholds on the
    probability of one person, the caps for pairs that must not be taken for one person, the blocking keys."""
    model: MatchModel = field(default_factory=_shipped_model)
    fields: tuple[str, ...] = FIELDS
    likely_threshold: float = 0.85  # at or above: likely duplicate (registration refused without override)
    possible_threshold: float = 0.70  # at or above: goes to the review queue
    blocking_keys: tuple[str, ...] = ("name_pair_phonetic", "family_phonetic", "given_phonetic", "birth_date",
                                      "document_number")
    blocking_key_length: int = 4
    generation_gap_years: int = 15  # same name, birth years this far apart: another generation
    relative_score_cap: float = 0.5  # score of a pair recognised as relatives
    sex_mismatch_cap: float = 0.6
    # Given names that disagree (both present) cap the score below "likely": siblings and twins share a family
    # name, a birth date and often a household; an officer decides (review queue), never the matcher alone.
    given_name_disagreement_cap: float = 0.8
    # Likewise two birth dates that disagree in more than one part (or by estimate): the same name born on
    # another day is an officer's question, never a refusal by the matcher.
    birth_date_disagreement_cap: float = 0.8
    # And family names that differ outright (not a spelling, not swapped with the given name): a common given
    # name, one birth date, one sex and one country are shared by many people of a national register (estimated
    # dates cluster on 1 January), and a family name changed on marriage is an officer's question too.
    family_name_disagreement_cap: float = 0.8
    # How many people sharing blocking keys the store scores per check; when reached, the answer says so.
    candidate_limit: int = 200
    # Name frequencies of the register (term-frequency adjustment); runtime data, not part of `to_dict`.
    frequencies: "NameFrequencies | None" = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.candidate_limit <= 5000:
            raise ValueError("candidate_limit: 1 to 5000")
        for kind in self.blocking_keys:
            if kind not in BLOCKING_KINDS:
                raise ValueError(f"unknown blocking key {kind!r}")
        for name in self.fields:
            if name not in LEVELS:
                raise ValueError(f"unknown field {name!r}")
        if not 0 <= self.possible_threshold <= self.likely_threshold <= 1:
            raise ValueError("thresholds: 0 <= possible <= likely <= 1")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MatchingConfig":
        values = dict(data)
        if "model" in values:
            values["model"] = MatchModel.from_dict(values["model"])
        if "fields" in values:  # names, or the former {"field": ..., "weight": ..., "comparator": ...} rules
            names = [f["field"] if isinstance(f, dict) else f for f in values["fields"]]
            values["fields"] = tuple("document_number" if n == "document_numbers" else n for n in names)
        if "blocking_keys" in values:
            values["blocking_keys"] = tuple(values["blocking_keys"])
        values.pop("name_agreement_floor", None)  # the former weighted mean's; levels replace it
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(), "fields": list(self.fields), "likely_threshold": self.likely_threshold,
            "possible_threshold": self.possible_threshold, "blocking_keys": list(self.blocking_keys),
            "blocking_key_length": self.blocking_key_length, "generation_gap_years": self.generation_gap_years,
            "relative_score_cap": self.relative_score_cap, "sex_mismatch_cap": self.sex_mismatch_cap,
            "given_name_disagreement_cap": self.given_name_disagreement_cap,
            "birth_date_disagreement_cap": self.birth_date_disagreement_cap,
            "family_name_disagreement_cap": self.family_name_disagreement_cap, "candidate_limit": self.candidate_limit,
        }


@dataclass(frozen=True)
class MatchRecord:
    """The comparable view of a person; built once per person (and kept with the index)."""
    person_id: str
    given_name: str = ""
    family_name: str = ""
    patronymic: str = ""
    birth_date: date | None = None
    birth_date_precision: str = "exact"
    sex: str = "unknown"
    country_of_origin: str | None = None
    citizenships: tuple[str, ...] = ()
    document_numbers: tuple[str, ...] = ()

    @classmethod
    def of(cls, person: Any) -> "MatchRecord":
        """From a `Person` (original and Latin names are both compared)."""
        def both(part: str) -> str:
            original, latin = getattr(person, part) or "", getattr(person, f"{part}_latin") or ""
            return original if original == latin or not latin else f"{original}|{latin}"
        return cls(
            person_id=person.person_id, given_name=both("given_name"), family_name=both("family_name"),
            patronymic=both("patronymic"), birth_date=person.birth_date,
            birth_date_precision=str(person.birth_date_precision), sex=str(person.sex),
            country_of_origin=person.country_of_origin, citizenships=tuple(person.citizenships),
            document_numbers=tuple(d.number.upper() for d in person.identity_documents),
        )


@dataclass(frozen=True)
class Normalised:
    """A `MatchRecord` normalised for comparing: what a matching engine may precompute and keep per person
    (`normalise(record)`; every part is a pure function of the record, cached)."""
    person_id: str
    given: tuple[NameForm, ...] = ()
    family: tuple[NameForm, ...] = ()
    patronymic: tuple[NameForm, ...] = ()
    patronymic_stem: str = ""  # the father's name inside the patronymic, as a match key
    birth_date: date | None = None
    birth_date_precision: str = "exact"
    sex: str = "unknown"
    country_of_origin: str | None = None
    citizenships: frozenset[str] = frozenset()
    document_numbers: frozenset[str] = frozenset()


def normalise(record: MatchRecord, block_length: int = 4) -> Normalised:
    return Normalised(
        record.person_id, name_forms(record.given_name, block_length), name_forms(record.family_name, block_length),
        name_forms(record.patronymic, block_length), cached_patronymic_stem(record.patronymic), record.birth_date,
        record.birth_date_precision or "exact", record.sex or "unknown", record.country_of_origin,
        frozenset(record.citizenships), frozenset(d.upper() for d in record.document_numbers))


@dataclass(frozen=True)
class MatchResult:
    person_id: str
    score: float
    verdict: str  # likely_duplicate, possible_duplicate, distinct
    reasons: tuple[str, ...]
    evidence: float = 0.0  # the summed log2 Bayes factors (ranks pairs whose rounded scores tie at 1.0)

    def to_document(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "score": self.score, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Candidates:
    """The scored candidates of a check, best first, and whether the store's candidate limit cut the search
    short (then people beyond the limit were not compared, and the answer must say so)."""
    results: tuple[MatchResult, ...]
    limit_reached: bool = False


# --- comparison levels (each a pure function; an engine may compute a level's inputs vectorised) ------------

def _variants(value: str) -> list[str]:
    return [v for v in value.split("|") if v.strip()]


def name_similarity(a: str, b: str) -> float:
    """0..1 across scripts: best of Jaro-Winkler on match keys, token order ignored, and
    consonant skeletons (for unvoweled Arabic script)."""
    best = 0.0
    for x in _variants(a):
        for y in _variants(b):
            kx, ky = match_key(x), match_key(y)
            if not kx or not ky:
                continue
            if kx == ky:
                return 1.0
            score = key_similarity(kx, ky)
            sx, sy = (skeleton(x), skeleton(y)) if "arabic" in (script_of(x), script_of(y)) else ("", "")
            if sx and sx == sy and len(sx) >= 2:
                score = max(score, 0.9)
            best = max(best, score)
    return best


def key_similarity(kx: str, ky: str) -> float:
    """Similarity of two match keys: best of Jaro-Winkler and the token-sorted ratio (what `name_level` grades)."""
    return max(JaroWinkler.normalized_similarity(kx, ky), fuzz.token_sort_ratio(kx, ky) / 100)


def name_level_of(similarity: float, exact: bool, skeleton_equal: bool) -> str:
    """The level of a name comparison from its parts (an engine computing `similarity` with cdist uses this)."""
    if exact:
        return "exact"
    if skeleton_equal:
        return "skeleton"
    if similarity >= NAME_CLOSE:
        return "close"
    if similarity >= NAME_SIMILAR:
        return "similar"
    return "differs"


_NAME_RANK = {lv: i for i, lv in enumerate(LEVELS["given_name"])}


# The similarity of two match keys a comparison grades: `key_similarity`, or a look-up of the same values computed
# in bulk by a matching engine (RapidFuzz cdist over a whole check).
KeySimilarity = Callable[[str, str], float]


def name_match(a: Sequence[NameForm], b: Sequence[NameForm],
               similarity: KeySimilarity | None = None) -> tuple[str | None, str]:
    """(best level over the spellings of two name fields, the match key when they agree exactly); level None
    when either is missing."""
    similarity = similarity or key_similarity
    if not a or not b:
        return None, ""
    best = "differs"
    for x in a:
        for y in b:
            if x.key == y.key:
                return "exact", x.key
            # Consonant skeletons only where a side is Arabic script written without its short vowels:
            # between two vowelled spellings they would equate Shirin and Zarina.
            skel = (x.arabic or y.arabic) and len(x.skeleton) >= 2 and x.skeleton == y.skeleton
            level = name_level_of(similarity(x.key, y.key), False, skel)
            if _NAME_RANK[level] < _NAME_RANK[best]:
                best = level
    return best, ""


def name_level(a: Sequence[NameForm], b: Sequence[NameForm], similarity: KeySimilarity | None = None) -> str | None:
    """Best level over the spellings of two name fields; None when either is missing."""
    return name_match(a, b, similarity)[0]


_COARSE = {"year", "estimated"}


def birth_date_level(a: date | None, a_precision: str, b: date | None, b_precision: str) -> str | None:
    """Level of two birth dates, their precision considered; None when either is unknown."""
    if a is None or b is None:
        return None
    if a_precision == "estimated" or b_precision == "estimated":
        return "estimated_close" if abs(a.year - b.year) <= 2 else "differs"
    if a_precision in _COARSE or b_precision in _COARSE:
        return "year_only" if a.year == b.year else "differs"
    if a_precision == "month" or b_precision == "month":
        return "month_equal" if (a.year, a.month) == (b.year, b.month) else "differs"
    if a == b:
        return "exact"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "day_month_swapped"
    if (a.year == b.year) + (a.month == b.month) + (a.day == b.day) == 2:
        return "one_part_differs"
    if a.year == b.year:
        return "same_year"
    return "differs"


_BIRTH_REASON = {"exact": "birth_date_equal", "day_month_swapped": "birth_date_day_month_swapped",
                 "month_equal": "birth_month_equal", "year_only": "birth_year_equal",
                 "one_part_differs": "birth_date_one_part_differs", "estimated_close": "birth_year_close_estimated",
                 "same_year": "birth_year_equal_date_differs", "differs": "birth_date_differs"}


def birth_date_similarity(a: date, a_precision: str, b: date, b_precision: str) -> tuple[float, str]:
    """(rough 0..1 similarity, reason) of two birth dates; kept for callers outside the model (search ranking)."""
    level = birth_date_level(a, a_precision, b, b_precision) or "differs"
    similarity = {"exact": 1.0, "day_month_swapped": 0.9, "month_equal": 0.9, "year_only": 0.85,
                  "one_part_differs": 0.6, "estimated_close": 0.8, "same_year": 0.3}.get(level, 0.0)
    return similarity, _BIRTH_REASON[level]


def _equal_level(x: Any, y: Any, agree: str = "equal") -> str | None:
    if not x or not y or x == "unknown" or y == "unknown":
        return None
    return agree if x == y else "differs"


@dataclass(frozen=True)
class NameFrequencies:
    """How many records of the register hold each name (match key), given and family names apart: a name
    shared by few people is stronger evidence than Muhammad (term-frequency adjustment of the exact level).
    Counts, not names' owners; kept by whoever keeps the register (`name_frequencies(records)` builds one)."""
    given: Mapping[str, int]
    family: Mapping[str, int]
    total: int

    def u(self, name: str, key: str, level_u: float) -> float:
        """u of an exact agreement on `key`: the share of records holding it (at least one record's)."""
        table = self.given if name == "given_name" else self.family
        return max(table.get(key, 0), 1) / max(self.total, 1) if self.total else level_u


def name_frequencies(records: Iterable[MatchRecord | Normalised], block_length: int = 4) -> NameFrequencies:
    given: Counter = Counter()
    family: Counter = Counter()
    total = 0
    for record in records:
        n = record if isinstance(record, Normalised) else normalise(record, block_length)
        total += 1
        given.update({f.key for f in n.given})
        family.update({f.key for f in n.family})
    return NameFrequencies(dict(given), dict(family), total)


_PATRONYMIC_LEVEL = {"exact": "exact", "skeleton": "close", "close": "close", "similar": "differs", "differs": "differs"}


@dataclass(frozen=True)
class Comparison:
    levels: dict[str, str | None]  # the level of each field of FIELDS (None: missing on a side)
    swapped: bool  # given and family names compared crosswise (one record's given name is the other's family name)
    exact_keys: dict[str, str]  # the shared match key of a name field compared at its exact level

    def evidence(self, config: MatchingConfig) -> float:
        """Summed log2 Bayes factors; with `config.frequencies`, an exact name weighs by how rare it is."""
        model, frequencies = config.model, config.frequencies
        total = 0.0
        for name, level in self.levels.items():
            if level == "exact" and frequencies is not None and self.exact_keys.get(name):
                u = frequencies.u(name, self.exact_keys[name], model.u[name]["exact"])
                total += math.log2(model.m[name]["exact"] / u)
            else:
                total += model.weight(name, level)
        return total


def compare(a: Normalised, b: Normalised, config: MatchingConfig | None = None,
            similarity: KeySimilarity | None = None) -> Comparison:
    """The level of each field, given and family names in whichever order agrees better."""
    model = (config or _default_config()).model
    straight = (name_match(a.given, b.given, similarity), name_match(a.family, b.family, similarity))
    crossed = (name_match(a.given, b.family, similarity), name_match(a.family, b.given, similarity))

    def evidence(pair) -> float:
        return model.weight("given_name", pair[0][0]) + model.weight("family_name", pair[1][0])

    swapped = crossed[0][0] is not None and crossed[1][0] is not None and evidence(crossed) > evidence(straight)
    (given, given_key), (family, family_key) = crossed if swapped else straight
    levels: dict[str, str | None] = {
        "given_name": given,
        "family_name": family,
        "patronymic": _PATRONYMIC_LEVEL.get(name_level(a.patronymic, b.patronymic, similarity)),
        "birth_date": birth_date_level(a.birth_date, a.birth_date_precision, b.birth_date, b.birth_date_precision),
        "sex": _equal_level(a.sex, b.sex),
        "country_of_origin": _equal_level(a.country_of_origin, b.country_of_origin),
        "citizenships": None if not (a.citizenships and b.citizenships)
        else "overlap" if a.citizenships & b.citizenships else "differs",
        # shared: strong evidence; differing: none (a passport, then a national ID)
        "document_number": "shared" if a.document_numbers & b.document_numbers else None,
    }
    if config is not None:
        levels = {n: (lv if n in config.fields else None) for n, lv in levels.items()}
    return Comparison(levels, swapped, {"given_name": given_key, "family_name": family_key})


def comparison_vector(a: Normalised, b: Normalised, config: MatchingConfig | None = None) -> tuple:
    """The levels in `FIELDS` order: what EM trains on (`matching_model.train`)."""
    levels = compare(a, b, config).levels
    return tuple(levels[n] for n in FIELDS)


# --- relatives ----------------------------------------------------------------------------------

def _relatives(a: Normalised, b: Normalised, config: MatchingConfig) -> str | None:
    """A reason the pair are relatives sharing a name, or None."""
    if "birth_date" not in config.fields:
        a, b = replace(a, birth_date=None), replace(b, birth_date=None)
    for x, y in ((a, b), (b, a)):
        if x.patronymic_stem and any(f.key == x.patronymic_stem for f in y.given):
            # x's father is called what y is called
            if not (x.birth_date and y.birth_date) or \
                    x.birth_date.year - y.birth_date.year >= config.generation_gap_years:
                return "father_son_patronymic"
    if a.birth_date and b.birth_date and abs(a.birth_date.year - b.birth_date.year) >= config.generation_gap_years:
        return "different_generation"
    return None


# --- scoring ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _default_config() -> MatchingConfig:
    return MatchingConfig()


def _normalised(record: MatchRecord | Normalised, config: MatchingConfig) -> Normalised:
    return record if isinstance(record, Normalised) else normalise(record, config.blocking_key_length)


def _reason(name: str, level: str) -> str:
    return f"{name}_{'equal' if level == 'exact' else level}"


def score_normalised(a: Normalised, b: Normalised, config: MatchingConfig,
                     similarity: KeySimilarity | None = None) -> MatchResult:
    comparison = compare(a, b, config, similarity)
    levels, swapped = comparison.levels, comparison.swapped
    evidence = comparison.evidence(config)
    score = config.model.probability(evidence)
    reasons: list[str] = []
    for name in ("given_name", "family_name", "patronymic"):
        if levels[name] is not None:
            reasons.append(_reason(name, levels[name]))
    if swapped:
        reasons.append("given_family_swapped")
    if levels["birth_date"] is not None:
        reasons.append(_BIRTH_REASON[levels["birth_date"]])
    for name in ("sex", "country_of_origin", "citizenships"):
        if levels[name] is not None:
            reasons.append(f"{name}_{levels[name]}")
    if levels["document_number"] == "shared":
        score = max(score, config.likely_threshold)
        reasons.append("same_identity_document")
    if levels["given_name"] == "differs":
        score = min(score, config.given_name_disagreement_cap)
    if levels["family_name"] == "differs":
        score = min(score, config.family_name_disagreement_cap)
    if levels["birth_date"] in ("same_year", "differs"):
        score = min(score, config.birth_date_disagreement_cap)
    if levels["sex"] == "differs":
        score = min(score, config.sex_mismatch_cap)
    relative = _relatives(a, b, config)
    if relative:
        score = min(score, config.relative_score_cap)
        reasons.append(relative)
    score = round(score, 4)
    if score >= config.likely_threshold:
        verdict = "likely_duplicate"
    elif score >= config.possible_threshold:
        verdict = "possible_duplicate"
    else:
        verdict = "distinct"
    reasons.append(f"evidence:{evidence:+.1f}")
    return MatchResult(b.person_id, score, verdict, tuple(reasons), evidence)


def score_pair(a: MatchRecord | Normalised, b: MatchRecord | Normalised,
               config: MatchingConfig | None = None) -> MatchResult:
    """The probability that `a` and `b` are one person (Fellegi–Sunter, the config's model), with reasons."""
    config = config or _default_config()
    return score_normalised(_normalised(a, config), _normalised(b, config), config)


def score_candidates(probe: MatchRecord | Normalised, candidates: Iterable[MatchRecord | Normalised],
                     config: MatchingConfig | None = None, similarity: KeySimilarity | None = None) -> list[MatchResult]:
    """The probe scored against each candidate (already blocked: no keys are recomputed), at or above the
    possible threshold, best first. Candidates may be precomputed `Normalised` values; `similarity` may look up
    key similarities computed in bulk (the same values as `key_similarity`)."""
    config = config or _default_config()
    a = _normalised(probe, config)
    results = []
    for other in candidates:
        b = _normalised(other, config)
        if b.person_id == a.person_id:
            continue
        result = score_normalised(a, b, config, similarity)
        if result.score >= config.possible_threshold:
            results.append(result)
    return sorted(results, key=lambda r: (-r.score, -r.evidence, r.person_id))


def blocking_keys(record: MatchRecord | Normalised, config: MatchingConfig | None = None) -> set[str]:
    """Keys under which a record is indexed; only records sharing a key are compared.

    f:/g: family and given name phonetic keys; p: the two together in either order (given and family recorded
    swapped still meet); n: a name whatever its slot; b: the exact birth date, day and month in either order;
    y: the birth year; d: an identity document number."""
    config = config or _default_config()
    n = _normalised(record, config)
    given = {f.block for f in n.given if f.block}
    family = {f.block for f in n.family if f.block}
    keys: set[str] = set()
    for kind in config.blocking_keys:
        if kind == "family_phonetic":
            keys.update(f"f:{k}" for k in family)
        elif kind == "given_phonetic":
            keys.update(f"g:{k}" for k in given)
        elif kind == "given_family_phonetic":
            keys.update(f"gf:{g}:{f}" for g in given for f in family)
        elif kind == "name_pair_phonetic":
            keys.update(f"p:{min(g, f)}:{max(g, f)}" for g in given for f in family)
        elif kind == "name_phonetic":
            keys.update(f"n:{k}" for k in given | family)
        elif kind == "birth_date" and n.birth_date and n.birth_date_precision == "exact":
            d = n.birth_date
            keys.add(f"b:{d.year:04d}-{min(d.month, d.day):02d}-{max(d.month, d.day):02d}")
        elif kind == "birth_year" and n.birth_date:
            keys.add(f"y:{n.birth_date.year}")
        elif kind == "document_number":
            keys.update(f"d:{d}" for d in n.document_numbers)
    return keys


def find_candidates(record: MatchRecord, others: Iterable[MatchRecord],
                    config: MatchingConfig | None = None) -> list[MatchResult]:
    """Scored candidates at or above the possible threshold, best first (blocking applied)."""
    config = config or _default_config()
    keys = blocking_keys(record, config)
    blocked = [o for o in others if keys & blocking_keys(o, config)]
    return score_candidates(record, blocked, config)


def blocked_pairs(records: Sequence[MatchRecord | Normalised], config: MatchingConfig | None = None, *,
                  right: Sequence[MatchRecord | Normalised] | None = None,
                  max_block: int = 2000) -> Iterable[tuple[Normalised, Normalised]]:
    """Each pair of records sharing a blocking key, once (within `records`, or `records` x `right` when given).
    A key held by more than `max_block` records is skipped (for training only: a key that common is no block)."""
    config = config or _default_config()
    left = [_normalised(r, config) for r in records]
    other = left if right is None else [_normalised(r, config) for r in right]
    index: dict[str, list[int]] = {}
    for i, r in enumerate(other):
        for key in blocking_keys(r, config):
            index.setdefault(key, []).append(i)
    for i, a in enumerate(left):
        seen: set[int] = set()
        for key in blocking_keys(a, config):
            block = index.get(key, ())
            if len(block) > max_block:
                continue
            for j in block:
                if j in seen or (right is None and j <= i):
                    continue
                seen.add(j)
                yield a, other[j]


NAME_SESSION_FIELDS = ("given_name", "family_name", "patronymic", "sex", "country_of_origin", "citizenships")


def train_model(records: Sequence[MatchRecord | Normalised], config: MatchingConfig | None = None, *,
                right: Sequence[MatchRecord | Normalised] | None = None, data: str = "", version: str = "trained",
                random_pairs: int = 200_000, seed: int = 1) -> MatchModel:
    """m/u and the prior learned without labels from `records` (or `records` x `right`, two lists to link):
    u from random pairs; the names' m by EM over pairs met on the birth date; the birth date's m by EM over
    pairs met on a name (`matching_model.train`)."""
    import random

    from .matching_model import train
    config = config or _default_config()
    left = [_normalised(r, config) for r in records]
    other = left if right is None else [_normalised(r, config) for r in right]
    total = len(left) * (len(left) - 1) // 2 if right is None else len(left) * len(other)
    rng = random.Random(seed)

    def randoms():
        for _ in range(min(random_pairs, total)):
            i, j = rng.randrange(len(left)), rng.randrange(len(other))
            if right is None and i == j:
                continue
            yield comparison_vector(left[i], other[j], config)

    def met(kinds: tuple[str, ...], exclude: tuple[str, ...]):
        """Vectors of the pairs these keys bring together, without the fields the keys constrain (as splink does)."""
        keyed = replace(config, blocking_keys=kinds)
        for a, b in blocked_pairs(left, keyed, right=None if right is None else other):
            yield tuple(None if n in exclude else lv for n, lv in zip(FIELDS, comparison_vector(a, b, config)))

    sessions = [("pairs met on the birth date", met(("birth_date",), ("birth_date",)), NAME_SESSION_FIELDS),
                ("pairs met on the family name", met(("family_phonetic",), ("family_name",)), ("birth_date",))]
    return train(randoms(), sessions, total_pairs=total, data=data or f"{len(records)} records", version=version)


def with_model(config: MatchingConfig, model: MatchModel) -> MatchingConfig:
    return replace(config, model=model)


@dataclass
class DuplicateReview(Aggregate):
    """A pair of records that may be one person, waiting for an officer's review (its state is its version)."""

    review_id: str
    person_id: str  # the record being registered when the pair was found
    candidate_person_id: str  # the record already in the register
    state: str = "open"

    def resolve(self, outcome: str, surviving_person_id: str | None = None) -> tuple[str, str] | None:
        """Close the review; for a merge, (surviving, merged), by default the record registered first survives."""
        if self.state != "open":
            raise RuleViolation("review_resolved_once", f"review {self.review_id} is already {self.state}")
        if outcome == "not_duplicate":
            self.state = "not_duplicate"
            return None
        self.state = "merged"
        pair = (self.candidate_person_id, self.person_id)
        surviving = surviving_person_id or pair[0]
        if surviving not in pair:
            raise RuleViolation("merge_within_review", "surviving_person_id must be one of the review's pair")
        return surviving, pair[1] if surviving == pair[0] else pair[0]
