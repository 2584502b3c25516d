"""Store benchmark on SQLite: `python bench/store_bench.py [--events 20000] [--steps 2000] [--url URL]`.

Prints one JSON object (numbers only, nothing asserted):
    events_per_s_batched   events stored with Events.add_many in batches of 500
    events_per_s_single    events stored one per transaction
    journal_rows_per_s     step-journal rows (start + finish per step, one transaction each)
    admits_per_s_storm     Guard.admit_many on a storm (1 decision per event, 50 workloads, batches of 100)
    admits_per_s_single    Guard.admit, one decision at a time, same storm
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tagent.guard import Admission, Guard
from tagent.model import Decision, Event, EventSource, StepResult, StepStatus, WorkloadRef
from tagent.settings import Settings
from tagent.store import Store


def _events(n: int, start: datetime) -> list[Event]:
    return [Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff",
                  target=WorkloadRef(namespace="bench", name=f"w{i % 50}"), values={"restarts": float(i)},
                  labels={"app": f"w{i % 50}"}, observed_at=start + timedelta(milliseconds=i)) for i in range(n)]


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def run(url: str, events: int, steps: int) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store = Store.open(url)
    batch = _events(events, now)
    t = time.perf_counter()
    for i in range(0, len(batch), 500):
        store.events.add_many(batch[i:i + 500])
    batched = _rate(len(batch), time.perf_counter() - t)

    single = _events(min(events, 2000), now + timedelta(days=1))
    t = time.perf_counter()
    for e in single:
        store.events.add(e)
    one_by_one = _rate(len(single), time.perf_counter() - t)

    run_rec = store.runs.create("bench", WorkloadRef(namespace="bench", name="w0"), at=now)
    ok = StepResult(status=StepStatus.ok, detail="ok", command="kubectl get pods")
    t = time.perf_counter()
    for i in range(steps):
        store.runs.start_step(run_rec.id, i, action="wait", at=now)
        store.runs.finish_step(run_rec.id, i, ok)
    journal = _rate(2 * steps, time.perf_counter() - t)

    decisions = [Decision(rule="bench", rules_version="0" * 40, target=e.target, event_ids=[e.id], playbook="p")
                 for e in _events(min(events, 5000), now)]
    guard = Guard(store, Settings(), lambda: now)
    t = time.perf_counter()
    for i in range(0, len(decisions), 100):
        guard.admit_many([Admission(d) for d in decisions[i:i + 100]])
    storm = _rate(len(decisions), time.perf_counter() - t)
    single_guard = Guard(store, Settings(), lambda: now + timedelta(hours=1))
    few = decisions[:1000]
    t = time.perf_counter()
    for d in few:
        single_guard.admit(d.model_copy(update={"id": d.id + "x"}))
    one_admit = _rate(len(few), time.perf_counter() - t)
    store.close()
    return {"events_per_s_batched": batched, "events_per_s_single": one_by_one, "journal_rows_per_s": journal,
            "admits_per_s_storm": storm, "admits_per_s_single": one_admit, "backend": url.split(":", 1)[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--url", default=None, help="database URL (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tagent-store-bench-") as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        print(json.dumps(run(url, args.events, args.steps), indent=2))


if __name__ == "__main__":
    main()
