"""Requests, latency, CPU and memory of one pod over a tick of sandbox time.

Requests are simulated one by one (up to a cap per tick; beyond it in aggregate with the same shares),
so counters, the latency histogram and the access log tell the same story.

The caps shrink as the cluster grows (a budget per tick shared by every pod), so one tick costs about the
same per pod however long the previous tick took: without that, a slow tick means a longer `dt`, more
requests to simulate and a slower next tick, and thousands of workloads never settle (issue 14).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from tagent.sandbox import logs
from tagent.sandbox.faults import Effects
from tagent.sandbox.podstate import BUCKETS, Container, PodState
from tagent.sandbox.quantities import parse_quantity
from tagent.sandbox.scenario import WorkloadSpec

SIMULATED_PER_TICK = 2000  # per pod, in a small cluster
LOGGED_PER_TICK = 100
SIMULATED_BUDGET = 20_000  # per tick, shared by every pod of the cluster
LOGGED_BUDGET = 4_000
MIN_SIMULATED, MIN_LOGGED = 5, 1
_pods: ContextVar[Callable[[], int]] = ContextVar("sandbox_pods", default=lambda: 1)


@contextmanager
def population(pods: Callable[[], int]) -> Iterator[None]:
    """Size the per-pod caps by `pods()` (the cluster's pod count) for the ticks run inside; the simulation
    thread sets it around each tick."""
    token = _pods.set(pods)
    try:
        yield
    finally:
        _pods.reset(token)


def caps() -> tuple[int, int]:
    """(requests simulated one by one, access-log lines written) per pod for this tick."""
    pods = max(1, _pods.get()())
    return (max(MIN_SIMULATED, min(SIMULATED_PER_TICK, SIMULATED_BUDGET // pods)),
            max(MIN_LOGGED, min(LOGGED_PER_TICK, LOGGED_BUDGET // pods)))
CHATTER_EVERY = 30.0  # sandbox seconds between background lines of non-HTTP workloads


def base_cpu(pod: PodState) -> float:
    return parse_quantity(pod.profile.cpu)


def base_memory(pod: PodState) -> float:
    return parse_quantity(pod.profile.memory)


def update_usage(pod: PodState, c: Container, effects: Effects, dt: float) -> None:
    """CPU follows load (capped by the limit); memory sits near its base or climbs towards the OOM peak."""
    if c.status != "running":
        c.cpu = 0.0
        return
    rng = pod.rng
    cpu = base_cpu(pod) * effects.load * rng.uniform(0.9, 1.1)
    if effects.error_share > 0:
        cpu *= 1.2
    if c.limit_cpu is not None:
        cpu = min(cpu, c.limit_cpu)
    c.cpu = cpu
    c.cpu_seconds += cpu * dt
    base = base_memory(pod) * (1.0 + 0.15 * min(effects.load - 1.0, 2.0) if effects.load > 1 else 1.0)
    if effects.oom_peak is not None:
        climb = (effects.oom_peak - base) / max(effects.oom_ramp, 1.0)
        c.memory = min(effects.oom_peak, max(c.memory, base) + climb * dt)
    else:
        target = base * rng.uniform(0.97, 1.03)
        c.memory = target if c.memory == 0 else c.memory + (target - c.memory) * min(1.0, dt / 10.0)


def serve(pod: PodState, effects: Effects, now: datetime, dt: float) -> None:
    """Serve this tick's requests (when ready) and write their access-log lines."""
    c = pod.containers[0]
    if not pod.profile.http:
        _chatter(pod, c, now)
        return
    if not pod.ready(now):
        pod.traffic.carry = 0.0
        return
    t = pod.traffic
    expected = pod.profile.rps * effects.load * dt + t.carry
    n = int(expected)
    t.carry = expected - n
    if n == 0:
        return
    rng = pod.rng
    simulate_cap, log_cap = caps()
    simulated = min(n, simulate_cap)
    weight = n / simulated
    median = median_seconds(pod, effects)
    logged = 0
    error_text = logs.error_line(c)
    for i in range(simulated):
        code, method, path, seconds = draw(pod.profile, effects, median, rng)
        key = (method, code)
        t.requests[key] = t.requests.get(key, 0.0) + weight
        t.buckets[_bucket(seconds)] += weight
        t.duration_sum += seconds * weight
        t.duration_count += weight
        if logged < log_cap:
            moment = now - timedelta(seconds=dt * (1 - (i + 1) / simulated))
            if code == "500" and error_text:
                c.logs.append((moment, error_text))
            size = rng.randint(120, 4800) if code == "200" else rng.randint(40, 200)
            client = f"10.244.{rng.randint(0, 2)}.{rng.randint(2, 250)}"
            c.logs.append((moment, logs.access_line(moment, client, method, path, code, size, seconds * 1000,
                                                    rng.choice(logs.AGENTS))))
            logged += 1


def median_seconds(pod: PodState, effects: Effects) -> float:
    """The median of the pod's own time per request now (slower under load)."""
    return pod.profile.latency_ms / 1000.0 * (1.0 + 0.4 * max(0.0, math.log(max(effects.load, 1.0))))


def draw(profile: WorkloadSpec, effects: Effects, median: float, rng: random.Random) -> tuple[str, str, str, float]:
    """One request: (status code, method, path, seconds). Errors take three times as long; a `latency` fault
    of the workload and of the workloads it calls adds its delay."""
    roll = rng.random()
    code = "500" if roll < effects.error_share else ("404" if roll > 0.99 else "200")
    path = rng.choice(profile.paths)
    method = "POST" if path.endswith(("checkout", "authorize", "items")) and rng.random() < 0.5 else "GET"
    seconds = rng.lognormvariate(math.log(median), 0.45) * (3.0 if code == "500" else 1.0)
    return code, method, path, seconds + effects.delay_s + effects.downstream_s


def _bucket(seconds: float) -> int:
    for i, bound in enumerate(BUCKETS):
        if seconds <= bound:
            return i
    return len(BUCKETS)  # only in +Inf


def _chatter(pod: PodState, c: Container, now: datetime) -> None:
    if c.status != "running":
        return
    if c.next_chatter is None:
        c.next_chatter = now + timedelta(seconds=CHATTER_EVERY * pod.rng.uniform(0.5, 1.5))
    elif now >= c.next_chatter:
        c.logs.append((now, logs.chatter_line(c, pod.rng)))
        c.next_chatter = now + timedelta(seconds=CHATTER_EVERY * pod.rng.uniform(0.5, 1.5))
