"""A tiny playbook runner used by test_runs.py as a real child process that gets killed with SIGKILL.

Each step appends its index to an effects file (a real, observable side effect), journaled before and after.
    python -m tests.store.journal_worker URL RUN_ID EFFECTS_FILE HANG_AT
With HANG_AT = i, the worker prints HANG after the effect of step i and sleeps until it is killed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

from tagent.model import StepResult, StepStatus, WorkloadRef
from tagent.store import RunStatus, Store

STEPS = ("scale-up", "restart", "patch", "verify", "scale-down")


def main(url: str, run_id: str, effects: str, hang_at: int) -> None:
    store = Store.open(url)
    now = datetime.now(UTC)
    store.runs.create("demo", WorkloadRef(namespace="shop", name="api"), at=now, run_id=run_id)
    for index, name in enumerate(STEPS):
        claim = store.runs.start_step(run_id, index, action=f"demo.{name}", name=name, mutates=True,
                                      at=datetime.now(UTC))
        if claim.finished:
            continue
        with open(effects, "a", encoding="utf-8") as out:
            out.write(f"{index}\n")
            out.flush()
            os.fsync(out.fileno())
        if index == hang_at:
            print("HANG", flush=True)
            time.sleep(600)
        store.runs.finish_step(run_id, index, StepResult(status=StepStatus.ok, detail=f"{name} done",
                                                         command=f"kubectl demo {name}"))
    store.runs.set_status(run_id, RunStatus.succeeded, at=datetime.now(UTC))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
