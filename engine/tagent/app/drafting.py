"""Drafted playbooks for incidents: on request (API, dashboard) and, in the background, for every new
incident whose rule has no playbook (it only notified, so Tagent had nothing to run).

There is one `Drafting` per engine (built by tagent.app.build, `engine.drafting`), and so one
`DraftProposer`: it serialises drafts on a single clone of the rules repository, so a person's request and
an automatic draft never write the same work tree at once. Each proposal goes on the incident's timeline
(kind `draft`), which is also how an incident is drafted at most once automatically, across restarts.
Drafting needs an LLM and a Git rules repository; without either it is unavailable, with one sentence that
says what to set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

from tagent.errors import ConfigError, TagentError
from tagent.llm import LLMClient
from tagent.model import Decision, Incident, TimelineEntry
from tagent.policy.drafts import DraftProposer, Proposal
from tagent.settings import Settings
from tagent.store import Store

log = logging.getLogger("tagent.drafts")
NO_LLM = "no LLM is configured: set TAGENT_LLM_BASE_URL (and TAGENT_LLM_API_KEY) to draft playbooks"
DRAFT_ENTRY = "draft"  # the timeline kind of a proposal (or of a draft that failed)


class DraftsUnavailable(ConfigError):
    """Drafting is not configured (no LLM, or the rules source is not a Git repository)."""


def summary_of(proposal: Proposal, by: str) -> str:
    """The timeline sentence: where the proposal is, or why there is none."""
    if proposal.status != "proposed":
        return (f"{by}: the LLM's draft is invalid after {proposal.attempts} attempt(s), nothing pushed: "
                f"{proposal.problems[0] if proposal.problems else 'no reason given'}")
    where = proposal.pull_request.url if proposal.pull_request else f"branch {proposal.branch}"
    return f"{by}: the LLM drafted {', '.join(f'{k} {n}' for k, n in proposal.names)}; review it at {where}"


class Drafting:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime], *,
                 executor: Executor | None = None, **proposer_options: Any) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self._options = proposer_options  # e.g. promtool=None
        self._proposer: DraftProposer | None = None
        self._unavailable: str | None = None
        self._lock = threading.Lock()
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="draft")
        self._started: set[str] = set()
        self._futures: set[Future[None]] = set()

    def proposer(self) -> DraftProposer:
        """The engine's proposer, built once; DraftsUnavailable (one sentence) when it cannot be."""
        with self._lock:
            if self._proposer is None and self._unavailable is None:
                client = LLMClient.from_settings(self.settings)
                if client is None:
                    self._unavailable = NO_LLM
                else:
                    try:
                        self._proposer = DraftProposer.from_settings(self.settings, client, **self._options)
                    except ConfigError as exc:
                        self._unavailable = str(exc)
            if self._proposer is None:
                raise DraftsUnavailable(self._unavailable or NO_LLM)
            return self._proposer

    def propose(self, incident: Incident, by: str = "requested") -> Proposal:
        """Draft now (blocking: the LLM and Git), and note the outcome on the incident's timeline."""
        proposal = self.proposer().propose(incident)
        self._note(incident.id, summary_of(proposal, by), proposal)
        return proposal

    # -- automatic ----------------------------------------------------------------------------------
    def on_open(self, incident: Incident, decision: Decision) -> None:
        """The incident manager's hook for a new incident: a notify-only one is drafted in the background."""
        if decision.playbook or not self.settings.draft_on_unmatched:
            return
        try:
            self.proposer()
        except DraftsUnavailable:
            return  # nothing to do without an LLM and a Git rules repository (said once, at wiring)
        with self._lock:
            if incident.id in self._started:
                return
            self._started.add(incident.id)
            future = self._executor.submit(self._auto, incident.id)
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _auto(self, incident_id: str) -> None:
        incident = self.store.incidents.get(incident_id)
        if incident is None or any(e.kind == DRAFT_ENTRY for e in incident.timeline):
            return
        try:
            self.propose(incident, by="automatic draft (no playbook matched)")
        except TagentError as exc:
            log.warning("automatic draft for incident %s failed: %s", incident_id, exc)
            self._note(incident_id, f"automatic draft (no playbook matched) failed: {exc}", None)
        except Exception:  # a worker thread must log, not swallow: the executor would hide it
            log.exception("automatic draft for incident %s crashed", incident_id)

    def _note(self, incident_id: str, summary: str, proposal: Proposal | None) -> None:
        data: dict[str, Any] = {}
        if proposal is not None:
            data = {"status": proposal.status, "branch": proposal.branch, "problems": list(proposal.problems),
                    "pull_request_url": proposal.pull_request.url if proposal.pull_request else None}
        self.store.incidents.add_timeline(incident_id, TimelineEntry(at=self.clock(), kind=DRAFT_ENTRY,
                                                                     summary=summary, data=data))

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait for the background drafts started so far; False on timeout."""
        with self._lock:
            futures = set(self._futures)
        return not wait(futures, timeout=timeout).not_done
