"""The font every PDF Pana prints is drawn with (decision letters, certificates): DejaVu Sans, subset to Latin,
Greek and Cyrillic (Kazakh's letters included), shipped with the kit so a bare image with no fonts installed still
renders them. Its licence is beside it."""

from pathlib import Path

DEJAVU_SANS = Path(__file__).parent / "DejaVuSans.ttf"
LICENSE = Path(__file__).parent / "LICENSE-DejaVu.txt"
