"""Random traffic, expiries and swaps: no crash, and every decision respects order, window and consumption.

durable_rules 2.0.28 crashes on some session deletions it is not prepared for (see detect.rulesets); this
drives every path that deletes sessions (completion, expiry, compaction, swap, close) many times.
"""

from __future__ import annotations

import random

from tests.detect.support import Clock, k8s, metric, rule, target

WITHIN = 300.0


def rules(n: int) -> list:
    seq = rule("bad-deploy", {"all": [{"kubernetes": {"reason": "RolloutStarted"}},
                                      {"metrics": {"name": "error_rate", "op": ">", "value": 0.05}}],
                              "within": "5m"})
    three = rule("oom-oom-crash", {"all": [{"kubernetes": {"reason": "OOMKilled"}},
                                           {"kubernetes": {"reason": "OOMKilled"}},
                                           {"kubernetes": {"reason": "CrashLoopBackOff"}}], "within": "10m"})
    single = rule("crash", {"kubernetes": {"reason": "CrashLoopBackOff"}},
                  then={"playbook": "restart-workload", "params": {"n": n}})
    return [seq, three, single] if n % 3 else [seq, single]


def test_random_traffic_with_swaps(make) -> None:
    rnd = random.Random(7)
    clock = Clock()
    det = make(*rules(1), clock=clock)
    at: dict[str, float] = {}
    kinds: dict[str, str] = {}
    used: set[str] = set()
    decisions = 0
    for step in range(6000):
        clock.advance(rnd.choice([0, 1, 5, 30, 120]))
        tgt = target(f"w{rnd.randrange(40)}")
        pick = rnd.random()
        if pick < 0.25:
            event = k8s("RolloutStarted", tgt, kind="Rollout")
        elif pick < 0.6:
            event = metric("error_rate", rnd.choice([0.01, 0.2]), tgt)
        elif pick < 0.8:
            event = k8s("OOMKilled", tgt)
        else:
            event = k8s("CrashLoopBackOff", tgt)
        at[event.id] = clock.now.timestamp()
        kinds[event.id] = event.reason
        for d in det.process(event):
            decisions += 1
            assert d.target == tgt and d.event_ids[-1] == event.id
            if d.rule == "crash":
                continue
            times = [at[i] for i in d.event_ids]
            assert times == sorted(times)
            window = WITHIN if d.rule == "bad-deploy" else 600.0
            assert times[-1] - times[0] <= window
            assert not used & set(d.event_ids), "an event completed two sequences"
            used.update(d.event_ids)
            want = (["RolloutStarted", "error_rate"] if d.rule == "bad-deploy"
                    else ["OOMKilled", "OOMKilled", "CrashLoopBackOff"])
            assert [kinds[i] for i in d.event_ids] == want
        if step % 500 == 499:
            stats = det.stats()
            assert stats.held_events == stats.mirrored_events  # the mirror of durable's memory is exact
            det.swap(rules(step // 500 + 2), f"v{step}")
    assert decisions > 500
    clock.advance(3600)
    det.process(k8s("Pulled"))
    stats = det.stats()
    assert stats.pending_sequences == 0 and stats.held_events == 0 and stats.sessions <= 1
