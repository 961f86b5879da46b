"""Fellegi–Sunter weights for duplicate matching: comparison levels per field, m/u probabilities, EM training.

A pair of records is compared field by field; each comparison falls into one *level* (names: exact, equal
consonant skeletons, close, similar, differing; birth dates: exact, day/month swapped, year only, ...).
A level carries two probabilities: m, how often a true duplicate pair shows it, and u, how often two
different people do. The pair's evidence is the sum of log2(m/u) over the fields both records have
(a field missing on either side is no evidence at all, None below); with the prior odds of a
duplicate among compared pairs it gives the probability that the two records are one person.

m and u are learned without labels by expectation–maximisation over the compared (blocked) pairs of a
register (`train`), and kept as versioned configuration (`match_model.json`, with the figures of the
training: data, pairs, iterations). Levels the training data never shows (Arabic-script skeletons,
year-only dates in a data set that has none) keep their stated prior and say so (`"source": "prior"`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping

# Levels per field, best agreement first. A field absent from either record has no level (None).
LEVELS: dict[str, tuple[str, ...]] = {
    "given_name": ("exact", "skeleton", "close", "similar", "differs"),
    "family_name": ("exact", "skeleton", "close", "similar", "differs"),
    "patronymic": ("exact", "close", "differs"),
    "birth_date": ("exact", "day_month_swapped", "month_equal", "year_only", "one_part_differs",
                   "estimated_close", "same_year", "differs"),
    "sex": ("equal", "differs"),
    "country_of_origin": ("equal", "differs"),
    "citizenships": ("overlap", "differs"),
    # A differing document number is no evidence (people show a passport, then a national ID): only
    # "shared" is a level, and its weight is stated, not trained.
    "document_number": ("shared",),
}
FIELDS = tuple(LEVELS)
UNTRAINED_FIELDS = frozenset({"document_number"})

# Starting points of EM, and the values kept for levels the training data does not show.
PRIOR_M: dict[str, dict[str, float]] = {
    "given_name": {"exact": 0.80, "skeleton": 0.05, "close": 0.08, "similar": 0.04, "differs": 0.05},
    "family_name": {"exact": 0.80, "skeleton": 0.05, "close": 0.08, "similar": 0.04, "differs": 0.05},
    "patronymic": {"exact": 0.85, "close": 0.10, "differs": 0.05},
    # year_only, month_equal, estimated_close: only met when a date is that coarse; their m and u are stated as
    # if given that (the share of duplicates, and of random pairs, whose dates agree that far).
    "birth_date": {"exact": 0.80, "day_month_swapped": 0.02, "month_equal": 0.8, "year_only": 0.8,
                   "one_part_differs": 0.08, "estimated_close": 0.8, "same_year": 0.01, "differs": 0.05},
    "sex": {"equal": 0.98, "differs": 0.02},
    "country_of_origin": {"equal": 0.95, "differs": 0.05},
    "citizenships": {"overlap": 0.95, "differs": 0.05},
    "document_number": {"shared": 0.5},
}
PRIOR_U: dict[str, dict[str, float]] = {
    "given_name": {"exact": 0.02, "skeleton": 0.002, "close": 0.01, "similar": 0.03, "differs": 0.937},
    "family_name": {"exact": 0.01, "skeleton": 0.002, "close": 0.005, "similar": 0.02, "differs": 0.96},
    "patronymic": {"exact": 0.05, "close": 0.05, "differs": 0.90},
    "birth_date": {"exact": 0.0001, "day_month_swapped": 0.00003, "month_equal": 0.001, "year_only": 0.0125,
                   "one_part_differs": 0.002, "estimated_close": 0.06, "same_year": 0.01, "differs": 0.9},
    "sex": {"equal": 0.5, "differs": 0.5},
    "country_of_origin": {"equal": 0.6, "differs": 0.4},
    "citizenships": {"overlap": 0.6, "differs": 0.4},
    "document_number": {"shared": 0.000001},
}
MIN_OBSERVED = 5.0  # a level seen fewer times than this (expected count) keeps its prior

Vector = tuple  # one level index per field of FIELDS, or None where a record lacks the field


@dataclass(frozen=True)
class MatchModel:
    """m/u per field and level, the prior probability of a duplicate among compared pairs, and how they were got."""
    version: str = "untrained"
    prior: float = 0.01  # share of duplicates among the pairs blocking brings together
    m: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: PRIOR_M)
    u: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: PRIOR_U)
    source: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # "em" or "prior" per level
    training: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.prior < 1:
            raise ValueError("prior: strictly between 0 and 1")
        for name, levels in LEVELS.items():
            for level in levels:
                m, u = self.m[name][level], self.u[name][level]
                if not (0 < m <= 1 and 0 < u <= 1):
                    raise ValueError(f"m and u of {name}.{level}: in (0, 1]")
        # Bayes factors, precomputed (a frozen dataclass: set through object.__setattr__)
        object.__setattr__(self, "_weights", {
            name: {level: math.log2(self.m[name][level] / self.u[name][level]) for level in levels}
            for name, levels in LEVELS.items()})
        object.__setattr__(self, "prior_weight", math.log2(self.prior / (1 - self.prior)))

    def weight(self, name: str, level: str | None) -> float:
        """log2(m/u) of a field's level; 0 for a missing field (no evidence either way)."""
        return 0.0 if level is None else self._weights[name][level]  # type: ignore[attr-defined]

    def weights(self) -> dict[str, dict[str, float]]:
        return {n: dict(w) for n, w in self._weights.items()}  # type: ignore[attr-defined]

    def probability(self, evidence: float) -> float:
        """Probability of one person given the summed field weights (log2 Bayes factors)."""
        x = self.prior_weight + evidence  # type: ignore[attr-defined]
        return 1.0 / (1.0 + 2.0 ** -x) if x > -1000 else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MatchModel":
        levels = data.get("levels", {})
        m = {n: {lv: PRIOR_M[n][lv] for lv in lvs} for n, lvs in LEVELS.items()}
        u = {n: {lv: PRIOR_U[n][lv] for lv in lvs} for n, lvs in LEVELS.items()}
        source = {n: {lv: "prior" for lv in lvs} for n, lvs in LEVELS.items()}
        for name, per_level in levels.items():
            if name not in LEVELS:
                raise ValueError(f"unknown field {name!r} in the match model")
            for level, figures in per_level.items():
                if level not in LEVELS[name]:
                    raise ValueError(f"unknown level {name}.{level} in the match model")
                m[name][level], u[name][level] = float(figures["m"]), float(figures["u"])
                source[name][level] = figures.get("source", "configured")
        return cls(version=str(data.get("version", "configured")), prior=float(data.get("prior", 0.01)),
                   m=m, u=u, source=source, training=dict(data.get("training", {})))

    def to_dict(self) -> dict[str, Any]:
        weights = self.weights()
        return {
            "version": self.version,
            "prior": self.prior,
            "levels": {n: {lv: {"m": round(self.m[n][lv], 6), "u": round(self.u[n][lv], 8),
                                "weight": round(weights[n][lv], 3), "source": self.source.get(n, {}).get(lv, "prior")}
                           for lv in lvs} for n, lvs in LEVELS.items()},
            "training": dict(self.training),
        }


MODEL_FILE = "match_model.json"


def default_model() -> MatchModel:
    """The model shipped with the package (`match_model.json`); retrain with `python -m registration.train_matching`."""
    text = resources.files(__package__).joinpath(MODEL_FILE).read_text()
    return MatchModel.from_dict(json.loads(text))


# --- training ----------------------------------------------------------------------------------------
#
# As splink does: u from random pairs (nearly all of them two different people); m by EM over the pairs one
# blocking rule brings together, estimating only the fields that rule does not constrain (pairs met on the birth
# date teach the names' m, pairs met on a name teach the birth date's m), u held fixed; the prior is the share of
# duplicates among all pairs, from the duplicates EM finds among the pairs met on the birth date and how many
# duplicates that rule reaches (m of the birth-date levels the key holds).


def _index(vector: Vector) -> tuple:
    return tuple(None if lv is None else LEVELS[n].index(lv) for n, lv in zip(FIELDS, vector))


def estimate_u(vectors: Iterable[Vector], start: "MatchModel") -> tuple[dict, dict, dict, int]:
    """u per level from random pairs: the share of each level among the pairs where the field is present.
    A level never seen keeps its prior; one seen less than MIN_OBSERVED times is estimated as (count + 1) / (n + 1)."""
    counts = {n: Counter() for n in FIELDS}
    pairs = 0
    for vector in vectors:
        pairs += 1
        for n, lv in zip(FIELDS, vector):
            if lv is not None:
                counts[n][lv] += 1
    u: dict[str, dict[str, float]] = {}
    source: dict[str, dict[str, str]] = {}
    for n, levels in LEVELS.items():
        present = sum(counts[n].values())
        u[n], source[n] = {}, {}
        for lv in levels:
            c = counts[n][lv]
            if n in UNTRAINED_FIELDS or c == 0 or present == 0:
                u[n][lv], source[n][lv] = start.u[n][lv], "prior"
            elif c < MIN_OBSERVED:
                u[n][lv], source[n][lv] = (c + 1) / (present + 1), "random pairs (few)"
            else:
                u[n][lv], source[n][lv] = c / present, "random pairs"
    return u, source, {n: dict(c) for n, c in counts.items()}, pairs


def em(vectors: Iterable[Vector], m: Mapping[str, Mapping[str, float]], u: Mapping[str, Mapping[str, float]],
       estimate: Iterable[str], *, prior: float = 0.1, max_iterations: int = 100,
       tolerance: float = 1e-6) -> dict[str, Any]:
    """EM for the m of the fields in `estimate` (u and the other m held), and the share of duplicates among these
    pairs. Returns m, that share, the expected duplicates, iterations, convergence and expected counts per level."""
    counts = Counter(_index(v) for v in vectors)
    if not counts:
        raise ValueError("no pairs to train on")
    patterns = list(counts.items())
    total = sum(counts.values())
    estimate = [n for n in estimate if n not in UNTRAINED_FIELDS]
    mm = {n: [m[n][lv] for lv in LEVELS[n]] for n in FIELDS}
    uu = {n: [u[n][lv] for lv in LEVELS[n]] for n in FIELDS}
    iterations, change, acc = 0, float("inf"), {}
    for iterations in range(1, max_iterations + 1):
        acc = {n: [0.0] * len(LEVELS[n]) for n in FIELDS}
        matches = 0.0
        for pattern, count in patterns:
            pm, pu = prior, 1 - prior
            for n, level in zip(FIELDS, pattern):
                if level is not None:
                    pm *= mm[n][level]
                    pu *= uu[n][level]
            p = pm / (pm + pu) if pm + pu > 0 else 0.0
            matches += p * count
            for n, level in zip(FIELDS, pattern):
                if level is not None:
                    acc[n][level] += p * count
        change = abs(matches / total - prior)
        prior = min(max(matches / total, 1e-9), 1 - 1e-9)
        for n in estimate:
            seen = sum(acc[n])
            if seen <= 0:
                continue
            for i in range(len(LEVELS[n])):
                new = max(acc[n][i] / seen, 1e-6)
                change = max(change, abs(new - mm[n][i]))
                mm[n][i] = new
        if change < tolerance:
            break
    return {"m": {n: dict(zip(LEVELS[n], mm[n])) for n in FIELDS}, "prior": prior, "pairs": total,
            "expected_duplicates": prior * total, "iterations": iterations, "converged": change < tolerance,
            "expected_counts": {n: dict(zip(LEVELS[n], (round(x, 1) for x in acc[n]))) for n in estimate}}


def train(random_vectors: Iterable[Vector], sessions: Iterable[tuple[str, Iterable[Vector], Iterable[str]]], *,
          total_pairs: int, recall_levels: tuple[str, str] = ("birth_date", "exact,day_month_swapped"),
          start: "MatchModel | None" = None, version: str = "trained", data: str = "") -> "MatchModel":
    """A model from random pairs (u) and EM sessions (name, vectors, fields whose m it estimates), run in order,
    each starting from the m of the ones before. The prior (share of duplicates among all `total_pairs`) comes
    from the first session: its expected duplicates over the share of duplicates its blocking rule reaches,
    the m of `recall_levels` (field, comma-separated levels) as the later sessions estimated it."""
    start = start or MatchModel()
    u, u_source, u_counts, sampled = estimate_u(random_vectors, start)
    m = {n: dict(start.m[n]) for n in FIELDS}
    source = {n: {lv: "prior" for lv in LEVELS[n]} for n in FIELDS}
    figures = []
    first = None
    for name, vectors, fields in sessions:
        result = em(vectors, m, u, fields)
        first = first or result
        for n in fields:
            if n in UNTRAINED_FIELDS:
                continue
            for lv in LEVELS[n]:
                if result["expected_counts"][n][lv] >= MIN_OBSERVED:
                    m[n][lv], source[n][lv] = result["m"][n][lv], f"em ({name})"
                # a level the session (nearly) never saw keeps its prior m
        figures.append({"session": name, "pairs": result["pairs"], "iterations": result["iterations"],
                        "converged": result["converged"], "expected_duplicates": round(result["expected_duplicates"], 1),
                        "expected_counts_among_duplicates": result["expected_counts"]})
    if first is None:
        raise ValueError("no training session")
    field_name, levels = recall_levels
    reach = sum(m[field_name][lv] for lv in levels.split(","))
    duplicates = first["expected_duplicates"] / max(reach, 1e-6)
    prior = min(max(duplicates / max(total_pairs, 1), 1e-12), 0.5)
    # No renormalisation: the coarse birth-date levels' priors are stated given that a date is that coarse.
    for n in FIELDS:
        for lv in LEVELS[n]:
            source[n][lv] = f"m: {source[n][lv]}; u: {u_source[n][lv]}"
    return MatchModel(version=version, prior=prior, m=m, u=u, source=source, training={
        "data": data, "total_pairs": total_pairs, "random_pairs": sampled,
        "random_pair_level_counts": u_counts, "sessions": figures,
        "expected_duplicates": round(duplicates, 1),
        "method": "u from random pairs; m by EM per blocking rule (u held); prior = expected duplicates / all pairs",
    })
