"""Where benchmarks run from, where committed results go, and where the shared data sits."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
REPO = PACKAGE.parent
COMMITTED = PACKAGE / "results"  # every committed result file (md, json, notes), and no code
# Where runs write: the committed folder, or BENCH_RESULTS for a trial run that must not touch it.
RESULTS = Path(os.environ.get("BENCH_RESULTS", COMMITTED))
SHARED_DATA = REPO.parent / "shared" / "data"
