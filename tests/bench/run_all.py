"""Run every tests/bench/bench_*.py in turn with its defaults (`make bench`).

    uv run python tests/bench/run_all.py [--only NAME ...] [-- extra args passed to every script]

Each script runs in its own process (it starts and stops its own stack). A failing script
is reported and the rest still run; the exit code is non-zero when any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=None, help="run only these (e.g. bridge statelessness)")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="after --: arguments given to every script")
    args = p.parse_args()
    extra = [a for a in args.extra if a != "--"]
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only or s.stem in args.only]
    failed = []
    for script in scripts:
        one, five, _ = os.getloadavg()
        print(f"\n=== {script.name} (load {one:.2f} / {five:.2f}) ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parents[1])
        print(f"=== {script.name}: exit {code} after {time.monotonic() - started:.0f} s ===", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
