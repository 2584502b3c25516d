"""Leader election on a coordination.k8s.io/v1 Lease (docs/ha.md).

    elector = Elector.from_settings(settings, kube, store)
    elector.start(on_started=engine.start, on_stopped=shut_down)     # a thread: acquire, then renew
    elector.leading()   # Fence(lease, term) while this replica may act, else None (what the runner checks)
    elector.stop()      # clean shutdown: give the Lease up so another replica takes over at once

- Acquire: when the Lease is absent, released (no holder), held by this same identity (this engine
  restarted), or expired: its holder has not renewed it for `leaseDurationSeconds`, measured on this
  replica's monotonic clock from the poll before the one that saw the last renewal (no clock is compared
  across machines). Writes carry the resourceVersion read: of two replicas, one wins, one gets a conflict.
- Term: each acquisition writes the Lease with leaseTransitions one above both the Lease's and the
  database's last term (so a deleted and recreated Lease does not start over), and records it as the new
  term in the database, only if no higher one is there (`Leadership.begin_term`): a replica that froze
  between its Lease write and this record finds a later acquisition's term and does not lead. Every run the
  leader executes is claimed and journaled under its term (the fence, tagent.store.repos.runs).
- Renew every `retry_period`. `leading()` turns None once no renewal succeeded for `renew_deadline`, which is
  shorter than the Lease's duration minus a retry period: the leader stops acting before any follower may
  consider the Lease expired. A leader that lost the Lease calls `on_stopped` once and never leads again
  (the process exits and starts over as a follower: no half-stopped state to reason about).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tagent.clients.kubernetes import KubeClient, Lease, LeaseConflict, Leases, LeaseSpec
from tagent.errors import ConfigError, ExternalError
from tagent.model import utcnow
from tagent.settings import Settings
from tagent.store import Fence, Leadership, Store

log = logging.getLogger("tagent.leader")
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class Timing:
    duration: float = 10.0
    renew_deadline: float = 6.0
    retry_period: float = 2.0

    def check(self) -> Timing:
        if not self.renew_deadline + self.retry_period < self.duration:
            raise ConfigError(f"lease renew deadline ({self.renew_deadline:g} s) + retry period "
                              f"({self.retry_period:g} s) must be shorter than the lease duration ({self.duration:g} s)"
                              ": a leader must stop acting before another replica may take its Lease")
        return self


def lease_namespace(settings: Settings) -> str:
    """TAGENT_LEASE_NAMESPACE, else the pod's namespace (its service account's), else "default"."""
    if settings.lease_namespace:
        return settings.lease_namespace
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
    except OSError:
        return "default"


class Elector:
    def __init__(self, leases: Leases, leadership: Leadership, *, identity: str, namespace: str, name: str,
                 address: str = "", timing: Timing = Timing(), monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = utcnow) -> None:
        self.leases, self.leadership = leases, leadership
        self.identity, self.namespace, self.name, self.address = identity, namespace, name, address
        self.timing = timing.check()
        self.key = f"{namespace}/{name}"
        self._monotonic, self._wall = monotonic, wall
        self._lock = threading.Lock()  # guards the fields below (never held during I/O)
        self._held: Lease | None = None  # the Lease as this replica last wrote it, while it holds it
        self._term: int | None = None
        self._renewed = 0.0  # monotonic start of the last successful acquire/renew request
        self._seen: tuple[str, float] | None = None  # (resourceVersion, monotonic) of the Lease last seen changing
        self._last_poll: float | None = None
        self._observed_holder = ""
        self.lost = threading.Event()  # set once when leadership was lost (not on a clean stop)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_started: Callable[[], None] = lambda: None
        self.on_stopped: Callable[[], None] = lambda: None

    @classmethod
    def from_settings(cls, settings: Settings, kube: KubeClient, store: Store) -> Elector:
        timing = Timing(settings.lease_duration, settings.lease_renew_deadline, settings.lease_retry_period)
        return cls(Leases(kube.api_client), store.leadership, identity=settings.engine_identity(),
                   namespace=lease_namespace(settings), name=settings.lease_name, address=advertise_url(settings),
                   timing=timing)

    # -- what others ask ------------------------------------------------------------------------------
    def leading(self) -> Fence | None:
        """This replica's fence while it holds the Lease (renewed within the renew deadline), else None."""
        with self._lock:
            if self._term is None or self._monotonic() - self._renewed >= self.timing.renew_deadline:
                return None
            return Fence(self.key, self._term)

    def leader_renewing(self) -> bool:
        """Whether the Lease's holder renewed it lately, as this follower saw (a frozen or dead leader does not):
        a follower then forwards to it; otherwise it answers at once instead of waiting on a silent leader."""
        seen = self._seen
        return seen is not None and self._monotonic() - seen[1] < self.timing.renew_deadline + self.timing.retry_period

    def status(self, *, store: bool = True) -> dict[str, Any]:
        """For /api/v1/health: this replica's role and the leader as the database knows it (`store` False:
        the database does not answer; then only what this replica saw of the Lease)."""
        fence = self.leading()
        leader = self.leadership.current(self.key) if store else None
        return {"identity": self.identity, "role": "leader" if fence else "follower", "lease": self.key,
                "term": fence.term if fence else (leader.term if leader else 0),
                "leader": (leader.holder or None) if leader else None,
                "leader_address": (leader.address or None) if leader else None,
                "observed_holder": self._observed_holder or None}

    # -- the loop -------------------------------------------------------------------------------------
    def start(self, *, on_started: Callable[[], None], on_stopped: Callable[[], None]) -> None:
        self.on_started, self.on_stopped = on_started, on_stopped
        self._thread = threading.Thread(target=self._loop, name="tagent-leader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self._term is None:
                    self.try_acquire()
                else:
                    self.renew()
            except Exception:  # the loop must outlive any bug: logged, next period
                log.exception("leader election step failed")
            if self._term is not None and self.leading() is None:
                self._lose("could not renew the Lease within the renew deadline")
                return
            # followers look twice per period: a dead leader's Lease is seen expiring up to a period sooner
            self._stop.wait(self.timing.retry_period if self._term is not None else self.timing.retry_period / 2)

    def try_acquire(self) -> bool:
        """One attempt to take the Lease; True when this replica now leads (`on_started` runs in a thread)."""
        start = self._monotonic()
        try:
            lease = self.leases.get(self.namespace, self.name)
            if not self._free(lease, start):
                return False
            now = self._wall()
            term = max(lease.spec.transitions if lease else 0, self.leadership.term_of(self.key)) + 1
            spec = LeaseSpec(self.identity, int(self.timing.duration), now, now, term)
            held = self.leases.create(self.namespace, self.name, spec) if lease is None else \
                self.leases.update(lease, spec)
            if not self.leadership.begin_term(self.key, term, self.identity, self.address, at=now):
                log.warning("term %d of Lease %s is already over: another replica acquired it since", term, self.key)
                return False
        except LeaseConflict:
            return False  # another replica wrote first
        except ExternalError as exc:
            log.warning("cannot acquire Lease %s: %s", self.key, exc)
            return False
        with self._lock:
            self._held, self._term, self._renewed = held, term, start
        self._observed_holder = self.identity
        log.info("leading: %s holds Lease %s, term %d", self.identity, self.key, term)
        # in its own thread: starting the engine (listing a big cluster) must not delay the next renewal
        threading.Thread(target=self.on_started, name="tagent-leader-start", daemon=True).start()
        return True

    def _free(self, lease: Lease | None, poll_start: float) -> bool:
        previous, self._last_poll = self._last_poll, poll_start
        if lease is None:
            return True
        self._observed_holder = lease.spec.holder
        if not lease.spec.holder or lease.spec.holder == self.identity:
            return True
        if self._seen is None or self._seen[0] != lease.resource_version:
            # it changed after the previous poll read it: measure from that poll (or from now, the first time)
            self._seen = (lease.resource_version, previous if previous is not None else poll_start)
        return self._monotonic() - self._seen[1] > max(1, lease.spec.duration_s)

    def renew(self) -> bool:
        start = self._monotonic()
        with self._lock:
            held = self._held
        if held is None:
            return False
        try:
            renewed = self.leases.update(held, LeaseSpec(self.identity, int(self.timing.duration),
                                                         held.spec.acquired_at, self._wall(), held.spec.transitions))
        except LeaseConflict:
            current = self.leases.get(self.namespace, self.name)
            if current is None or current.spec.holder != self.identity:
                self._lose(f"the Lease is now held by {current.spec.holder if current else 'nobody'}")
                return False
            with self._lock:
                self._held = current  # our own write raced with a retry: renew from the fresh version next time
            return False
        except ExternalError as exc:
            log.warning("cannot renew Lease %s: %s", self.key, exc)
            return False
        with self._lock:
            self._held, self._renewed = renewed, start
        return True

    def _lose(self, why: str) -> None:
        with self._lock:
            was, self._term, self._held = self._term, None, None
        if was is not None and not self.lost.is_set():
            log.error("leadership lost (term %d): %s; stopping", was, why)
            self.lost.set()
            self._stop.set()
            self.on_stopped()

    def stop(self, timeout: float = 5.0) -> None:
        """Clean shutdown: stop the loop, then give the Lease up (after the caller stopped acting)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._lock:
            held, term, self._held, self._term = self._held, self._term, None, None
        if held is None or term is None:
            return
        try:
            self.leases.update(held, LeaseSpec("", 1, None, self._wall(), held.spec.transitions))
            self.leadership.step_down(self.key, term)
            log.info("released Lease %s (term %d)", self.key, term)
        except ExternalError as exc:  # it expires on its own after its duration
            log.warning("cannot release Lease %s: %s", self.key, exc)


def advertise_url(settings: Settings) -> str:
    """Where the other replicas reach this replica's API: TAGENT_ADVERTISE_URL, else the listen address when
    it is a concrete one (not 0.0.0.0, not port 0), else "" (followers then answer 503 instead of forwarding)."""
    if settings.advertise_url:
        return settings.advertise_url.rstrip("/")
    if settings.api_host in ("0.0.0.0", "::", "") or settings.api_port == 0:
        return ""
    host = f"[{settings.api_host}]" if ":" in settings.api_host else settings.api_host
    return f"http://{host}:{settings.api_port}"
