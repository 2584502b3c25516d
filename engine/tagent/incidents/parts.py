"""What the small parts of the lifecycle share: the store, the guard, the book, the rules and the clock, plus
the knobs (all from Settings, passed in by the composition root)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tagent.guard import Guard
from tagent.incidents.book import Book
from tagent.model import WorkloadInfo, WorkloadRef
from tagent.model.policy import EscalationPolicySpec
from tagent.policy import RuleSet
from tagent.store import Store

NIGHT_MODE = "tagent:night-mode"
YIELD_MAX_S = 1.0  # background work waits at most this long for admission to catch up
YIELD_RECENT_S = 0.1  # decisions admitted this recently mean a storm is going on
YIELD_POLL_S = 0.05  # each wake-up takes the interpreter lock from admission: few of them


@dataclass(frozen=True)
class Knobs:
    flap_window: float = 1800.0  # a fingerprint closed `flap_limit` times within this many seconds flaps
    flap_limit: int = 2
    quiet_after: float = 1800.0  # an open incident with nothing running and no evidence for this long resolves
    settle: float = 900.0  # another rule's incident on a workload, active or closed this recently, absorbs
    call_grace: float = 0.0  # seconds an approval question waits before the phone rings
    retry_every: float = 30.0  # a decision the rate limit deferred is retried this often
    sweep_every: float = 30.0  # the quiet-incident sweep
    digest_after: int = 5  # one outbox pass sends this many "open" pages one by one, the rest as one digest


@dataclass
class Parts:
    store: Store
    guard: Guard
    book: Book
    rules: Callable[[], RuleSet]
    clock: Callable[[], datetime]
    workloads: Callable[[Sequence[WorkloadRef]], dict[str, WorkloadInfo]]  # by key; the GitOps owner decides
    knobs: Knobs = field(default_factory=Knobs)
    # True while the intake holds events not yet admitted (the composition root passes the queue's state)
    backlog: Callable[[], bool] = lambda: False
    admitted_at: float = -1e9  # time.monotonic() of the last admitted batch (set by the admitter's caller)

    def storming(self) -> bool:
        """Events wait in the intake, or decisions were admitted in the last YIELD_RECENT_S."""
        return self.backlog() or time.monotonic() - self.admitted_at < YIELD_RECENT_S

    def yield_to_admission(self, stop: threading.Event | None = None, max_wait: float = YIELD_MAX_S) -> None:
        """Background work (the outbox's pass, a playbook run's start) lets a storm's admission go first: it
        waits while the intake has a backlog or decisions keep coming (`storming`), for at most `max_wait` s
        (then it runs anyway: nothing starves; a lone decision delays its run by YIELD_RECENT_S at most).
        Admission is the latency that matters in a storm (one incident per workload, deduplicated, in one
        transaction a batch); a page or a restart a second later costs nothing, and every thread holding the
        interpreter lock meanwhile slowed admission by half."""
        deadline = time.monotonic() + max_wait
        while self.storming() and time.monotonic() < deadline and not (stop is not None and stop.is_set()):
            time.sleep(YIELD_POLL_S)

    def policy(self, ruleset: RuleSet | None = None) -> EscalationPolicySpec:
        policy = (ruleset or self.rules()).default_policy()
        return policy.spec if policy is not None else EscalationPolicySpec()
