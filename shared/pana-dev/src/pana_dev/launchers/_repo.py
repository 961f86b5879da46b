"""Finding files of the repository (``deploy/…``) from installed code.

pana-dev may run from the workspace checkout, from a test started in a
sub-directory, or from an installed wheel; so look upward both from the current
directory and from this module's file.
"""

from __future__ import annotations

from pathlib import Path


def find_repo_file(relative: str, start: Path | None = None) -> Path | None:
    """First ``<ancestor>/<relative>`` that exists, searching upward from CWD and from here."""
    roots = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    if start is not None:
        roots.insert(0, Path(start).resolve())
    seen: set[Path] = set()
    for root in roots:
        for d in (root, *root.parents):
            if d in seen:
                continue
            seen.add(d)
            candidate = d / relative
            if candidate.is_file():
                return candidate
    return None
