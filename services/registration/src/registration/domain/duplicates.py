"""Duplicate detection: scoring two person records across scripts and spellings.

What is compared, with which weights, the thresholds and the blocking keys are data
(`MatchingConfig.from_dict`), not code. Relatives with the same name (a son named after
his father) are recognised and kept apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Iterable

from rapidfuzz.distance import JaroWinkler
from rapidfuzz import fuzz

from pana_kit.domain import Aggregate, RuleViolation

from .names import blocking_key, match_key, patronymic_stem, script_of, skeleton

COMPARATORS = ("name", "birth_date", "exact", "set_overlap")
BLOCKING_KINDS = ("family_phonetic", "given_phonetic", "given_family_phonetic", "birth_year", "document_number")


@dataclass(frozen=True)
class FieldRule:
    field: str  # given_name, family_name, patronymic, birth_date, sex, citizenships, country_of_origin, ...
    weight: float
    comparator: str = "exact"

    def __post_init__(self) -> None:
        if self.comparator not in COMPARATORS:
            raise ValueError(f"unknown comparator {self.comparator!r}")


def _default_fields() -> tuple[FieldRule, ...]:
    return (
        FieldRule("given_name", 3.0, "name"),
        FieldRule("family_name", 3.0, "name"),
        FieldRule("patronymic", 1.0, "name"),
        FieldRule("birth_date", 3.0, "birth_date"),
        FieldRule("sex", 1.0, "exact"),
        FieldRule("country_of_origin", 0.5, "exact"),
        FieldRule("citizenships", 0.5, "set_overlap"),
    )


@dataclass(frozen=True)
class MatchingConfig:
    fields: tuple[FieldRule, ...] = field(default_factory=_default_fields)
    likely_threshold: float = 0.85  # at or above: likely duplicate (registration refused without override)
    possible_threshold: float = 0.70  # at or above: goes to the review queue
    blocking_keys: tuple[str, ...] = ("family_phonetic", "given_phonetic", "document_number")
    blocking_key_length: int = 4
    generation_gap_years: int = 15  # same name, birth years this far apart: another generation
    relative_score_cap: float = 0.5  # score of a pair recognised as relatives
    sex_mismatch_cap: float = 0.6
    # A name similarity below this counts as disagreement (0), not as partial agreement: sisters
    # Zarina and Laila (Jaro-Winkler 0.70) must not add up to a likely duplicate.
    name_agreement_floor: float = 0.8
    # How many people sharing blocking keys are scored per check (those sharing most keys first):
    # scoring is pure Python, so this bounds a check's cost however common a name is.
    candidate_limit: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.candidate_limit <= 5000:
            raise ValueError("candidate_limit: 1 to 5000")
        for kind in self.blocking_keys:
            if kind not in BLOCKING_KINDS:
                raise ValueError(f"unknown blocking key {kind!r}")
        if not 0 <= self.possible_threshold <= self.likely_threshold <= 1:
            raise ValueError("thresholds: 0 <= possible <= likely <= 1")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MatchingConfig":
        values = dict(data)
        if "fields" in values:
            values["fields"] = tuple(FieldRule(**f) for f in values["fields"])
        if "blocking_keys" in values:
            values["blocking_keys"] = tuple(values["blocking_keys"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = [asdict(f) for f in self.fields]
        data["blocking_keys"] = list(self.blocking_keys)
        return data


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
class MatchResult:
    person_id: str
    score: float
    verdict: str  # likely_duplicate, possible_duplicate, distinct
    reasons: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "score": self.score, "reasons": list(self.reasons)}


# --- comparators -----------------------------------------------------------------------------

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
            score = max(JaroWinkler.normalized_similarity(kx, ky), fuzz.token_sort_ratio(kx, ky) / 100)
            # Consonant skeletons only where a side is Arabic script written without its short vowels:
            # between two vowelled spellings they would equate Shirin and Zarina.
            sx, sy = (skeleton(x), skeleton(y)) if "arabic" in (script_of(x), script_of(y)) else ("", "")
            if sx and sx == sy and len(sx) >= 2:
                score = max(score, 0.9)
            best = max(best, score)
    return best


def birth_date_similarity(a: date, a_precision: str, b: date, b_precision: str) -> tuple[float, str]:
    coarse = {"year", "estimated"}
    if a_precision == "estimated" or b_precision == "estimated":
        gap = abs(a.year - b.year)
        return (0.8, "birth_year_close_estimated") if gap <= 2 else (0.0, "birth_date_differs")
    if a_precision in coarse or b_precision in coarse:
        return (0.85, "birth_year_equal") if a.year == b.year else (0.0, "birth_date_differs")
    if a_precision == "month" or b_precision == "month":
        return (0.9, "birth_month_equal") if (a.year, a.month) == (b.year, b.month) else (0.0, "birth_date_differs")
    if a == b:
        return 1.0, "birth_date_equal"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return 0.9, "birth_date_day_month_swapped"
    if a.year == b.year and a.month == b.month:
        return 0.6, "birth_date_same_month"
    if a.month == b.month and a.day == b.day and abs(a.year - b.year) == 1:
        return 0.6, "birth_year_off_by_one"
    if a.year == b.year:
        return 0.3, "birth_year_equal"
    return 0.0, "birth_date_differs"


def _field(record: MatchRecord, name: str) -> Any:
    return getattr(record, name, None)


# --- relatives ----------------------------------------------------------------------------------

def _relatives(a: MatchRecord, b: MatchRecord, config: MatchingConfig) -> str | None:
    """A reason the pair are relatives sharing a name, or None."""
    for x, y in ((a, b), (b, a)):
        stem = patronymic_stem(x.patronymic.split("|")[0]) if x.patronymic else ""
        if stem and any(match_key(v) == stem for v in _variants(y.given_name)):
            # x's father is called what y is called
            if x.birth_date and y.birth_date and x.birth_date.year - y.birth_date.year >= config.generation_gap_years:
                return "father_son_patronymic"
            if not (x.birth_date and y.birth_date):
                return "father_son_patronymic"
    if a.birth_date and b.birth_date and abs(a.birth_date.year - b.birth_date.year) >= config.generation_gap_years:
        return "different_generation"
    return None


# --- scoring ------------------------------------------------------------------------------------

def score_pair(a: MatchRecord, b: MatchRecord, config: MatchingConfig = MatchingConfig()) -> MatchResult:
    """Weighted mean of the configured fields present on both records, with reasons."""
    total = weight = 0.0
    reasons: list[str] = []
    sex_mismatch = False
    for rule in config.fields:
        x, y = _field(a, rule.field), _field(b, rule.field)
        if x in (None, "", ()) or y in (None, "", ()):
            continue
        if rule.comparator == "name":
            s = name_similarity(x, y)
            reasons.append(f"{rule.field}_{'equal' if s >= 0.999 else 'similar' if s >= 0.85 else 'differs'}:{s:.2f}")
            if s < config.name_agreement_floor:
                s = 0.0
        elif rule.comparator == "birth_date":
            s, why = birth_date_similarity(x, a.birth_date_precision, y, b.birth_date_precision)
            reasons.append(why)
        elif rule.comparator == "set_overlap":
            sx, sy = set(x), set(y)
            s = 1.0 if sx & sy else 0.0
            reasons.append(f"{rule.field}_{'overlap' if s else 'differ'}")
        else:
            if rule.field == "sex" and "unknown" in (x, y):
                continue
            s = 1.0 if x == y else 0.0
            reasons.append(f"{rule.field}_{'equal' if s else 'differs'}")
            if rule.field == "sex" and not s:
                sex_mismatch = True
        total += rule.weight * s
        weight += rule.weight
    score = total / weight if weight else 0.0
    shared_docs = set(a.document_numbers) & set(b.document_numbers)
    if shared_docs:
        score = max(score, config.likely_threshold)
        reasons.append("same_identity_document")
    if sex_mismatch:
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
    return MatchResult(b.person_id, score, verdict, tuple(reasons))


def blocking_keys(record: MatchRecord, config: MatchingConfig = MatchingConfig()) -> set[str]:
    """Keys under which a record is indexed; only records sharing a key are compared.
    Birth year is not a default key: day/month swaps and year-only dates must still meet."""
    keys: set[str] = set()
    n = config.blocking_key_length
    given = [blocking_key(v, n) for v in _variants(record.given_name)]
    family = [blocking_key(v, n) for v in _variants(record.family_name)]
    for kind in config.blocking_keys:
        if kind == "family_phonetic":
            keys.update(f"f:{k}" for k in family if k)
        elif kind == "given_phonetic":
            keys.update(f"g:{k}" for k in given if k)
        elif kind == "given_family_phonetic":
            keys.update(f"gf:{g}:{f}" for g in given for f in family if g and f)
        elif kind == "birth_year" and record.birth_date:
            keys.add(f"y:{record.birth_date.year}")
        elif kind == "document_number":
            keys.update(f"d:{d}" for d in record.document_numbers)
    return keys


def find_candidates(record: MatchRecord, others: Iterable[MatchRecord],
                    config: MatchingConfig = MatchingConfig()) -> list[MatchResult]:
    """Scored candidates at or above the possible threshold, best first (blocking applied)."""
    keys = blocking_keys(record, config)
    results = []
    for other in others:
        if other.person_id == record.person_id or not (keys & blocking_keys(other, config)):
            continue
        result = score_pair(record, other, config)
        if result.score >= config.possible_threshold:
            results.append(result)
    return sorted(results, key=lambda r: (-r.score, r.person_id))


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
