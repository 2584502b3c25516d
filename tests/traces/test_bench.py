"""`tagent bench traces` runs end to end on a small load (numbers are never asserted, only what must hold)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_traces_benchmark_stores_every_span_and_trims_to_the_cap() -> None:
    done = subprocess.run([sys.executable, "-m", "tagent", "bench", "traces", "--spans", "2000", "--batch", "250",
                           "--posters", "2", "--cap", "1500", "--output", "json"],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["spans"] == 2000 and result["requests"] == 8 and result["stored_before_trim"] == 2000
    assert (result["trimmed"], result["rows_after_trim"]) == (500, 1500)
    assert result["spans_per_s"] > 0 and result["bytes_after_trim"] > 0 and result["database"] == "sqlite"
