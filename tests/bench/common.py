"""Shared bits of the benchmark scripts: infrastructure choice, percentiles, printing."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The benchmarks measure how fast one principal's reads are served; the per-principal read limit
# (pana_kit.ratelimit.ReadLimiter) would measure itself instead. Services started from here inherit this.
for _prefix in ("REGISTRATION_", "RSD_", "STATELESSNESS_", "BRIDGE_"):
    os.environ.setdefault(f"{_prefix}READ_RATE_PER_MINUTE", "0")
# Likewise the verify limit (60 a minute per client): one bench client would measure the limiter (issue 16).
os.environ.setdefault("REGISTRATION_VERIFY_RATE_PER_MINUTE", "1000000000")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values_ms: list[float]) -> str:
    return (f"{name}: n={len(values_ms)} p50={percentile(values_ms, 50):.1f} ms p99={percentile(values_ms, 99):.1f} ms "
            f"mean={statistics.fmean(values_ms):.1f} ms max={max(values_ms):.1f} ms")


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--broker", default=os.environ.get("PANA_TEST_BROKER", "apache"), help="apache | embedded | host:port")
    p.add_argument("--database", default=os.environ.get("PANA_TEST_DATABASE", "postgres"), help="postgres | sqlite")
    p.add_argument("--var", default="/tmp/pana-bench", help="state directory")
    return p


def median_rounds(rounds: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(median measured, median anchor, ratio of the medians, median of the rounds' ratios) of (measured, anchor)
    rounds, each pair taken at nearly the same moment: one short window each swung 2-3x on a busy machine."""
    import statistics

    measured = statistics.median(m for m, _ in rounds)
    anchor = statistics.median(a for _, a in rounds)
    return measured, anchor, measured / anchor, statistics.median(m / a for m, a in rounds)
