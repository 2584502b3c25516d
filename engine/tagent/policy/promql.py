"""PromQL syntax through `promtool` (Prometheus' own parser) when it is installed; skipped otherwise.

promtool has no "check one expression" command, so every query goes into one temporary rules file, one
alert per query, and `promtool check rules` parses them all in a single run. Its error lines name the
alert (`"q3": could not parse expression: ...`), which maps each error back to its query.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

_ERROR = re.compile(r'"q(\d+)": (?:could not parse expression: )?(.*)$')
TIMEOUT = 30.0


def find_promtool(name: str | None = "promtool") -> str | None:
    """Absolute path of promtool, or None (no check) when it is not installed or `name` is None."""
    return shutil.which(name) if name else None


def check_queries(queries: Sequence[str], promtool: str) -> dict[int, str]:
    """Index of each query promtool rejects -> its parse error. Raises OSError/TimeoutExpired only when
    promtool itself cannot run (the caller reports that once)."""
    if not queries:
        return {}
    groups = {"groups": [{"name": "tagent-validate",
                          "rules": [{"alert": f"q{i}", "expr": q} for i, q in enumerate(queries)]}]}
    with tempfile.TemporaryDirectory(prefix="tagent-promql-") as tmp:
        file = Path(tmp) / "rules.yml"
        file.write_text(yaml.safe_dump(groups), encoding="utf-8")
        done = subprocess.run([promtool, "check", "rules", str(file)], capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    if done.returncode == 0:
        return {}
    errors: dict[int, str] = {}
    for line in (done.stdout + "\n" + done.stderr).splitlines():
        m = _ERROR.search(line)
        if m and int(m.group(1)) < len(queries):
            errors.setdefault(int(m.group(1)), m.group(2).strip())
    if not errors:  # failed, but not in a way we can pin to one query: report it on every query
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["promtool failed"]
        errors = {i: reason[0] for i in range(len(queries))}
    return errors
