"""Questions about the debrief, answered from the store with citations, in a conversation.

    asker = DebriefAsker(store, clock, tz)
    answer = asker.ask("why did it crash?", conversation_id=None)   # a new conversation
    asker.ask("and the one after that?", answer.conversation_id)    # follows on from the last incident

Every answer is grounded: it is built from incidents and their timeline entries, and `citations` names
each entry it used (incident id, position in the timeline, time, kind, summary). Nothing is invented; a
question it cannot ground gets a plain "I can answer ..." instead of a guess.

Conversation memory is a bounded in-memory map (LRU, `max_conversations`, idle ones expire after `ttl`)
keyed by conversation id: a conversation is one page's follow-ups over minutes, it holds only incident ids
and a position, and losing it on a restart costs one re-asked question, so it does not need a table (and
a schema migration) in the store. Only ids are kept, never text, so nothing secret sits in memory.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from tagent.debrief import localtime
from tagent.debrief.narrative import incident_line
from tagent.debrief.postmortem import broke_at, durations
from tagent.errors import ValidationError
from tagent.model import Incident, TimelineEntry
from tagent.store import Store

MAX_QUESTION = 500
_PERIODS = ("last night", "this morning", "yesterday", "today", "tonight")
_NEXT = re.compile(r"\b(next|after that|the one after|then what|and then)\b")
_PREV = re.compile(r"\b(previous|before that|the one before|earlier one)\b")
_WHY = re.compile(r"\b(why|cause|caused|reason|root)\b")
_LOG = re.compile(r"\b(logs?|evidence|messages?|output)\b")
_DID = re.compile(r"\b(what did (you|tagent) do|fix|fixed|action|actions|steps?|remediat\w*)\b")
_LONG = re.compile(r"\b(how long|duration|affected|downtime)\b")
_WHO = re.compile(r"\b(who|acknowledg\w*|call(ed)?|paged?|notif\w*)\b")
_ID = re.compile(r"\b(inc[-_][0-9a-z]+|[0-9a-f]{8,})\b")


@dataclass(frozen=True)
class Citation:
    incident_id: str
    entry: int  # position in the incident's timeline (sorted by time); -1 for the incident itself
    at: str
    kind: str
    summary: str
    local: str = ""  # the time in the team's zone, as the answer says it: "2:15 AM IST"

    def as_dict(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "entry": self.entry, "at": self.at, "local": self.local,
                "kind": self.kind,
                "summary": self.summary, "link": f"/?incident={self.incident_id}"}


@dataclass(frozen=True)
class Answer:
    text: str
    conversation_id: str
    citations: tuple[Citation, ...] = ()
    incident_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"answer": self.text, "conversation_id": self.conversation_id, "incident_id": self.incident_id,
                "citations": [c.as_dict() for c in self.citations]}


@dataclass
class _Conversation:
    incidents: list[str] = field(default_factory=list)  # the incidents in view, in the order they happened
    focus: int = 0
    turns: int = 0
    seen: datetime | None = None


class DebriefAsker:
    def __init__(self, store: Store, clock: Callable[[], datetime], tz: tzinfo, *, since: timedelta =
                 timedelta(hours=24), max_conversations: int = 1000, ttl: timedelta = timedelta(hours=2)) -> None:
        self.store, self.clock, self.tz, self.since = store, clock, tz, since
        self.max_conversations, self.ttl = max_conversations, ttl
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def ask(self, question: str, conversation_id: str | None = None) -> Answer:
        text = " ".join(question.split())
        if not text or len(text) > MAX_QUESTION:
            raise ValidationError(f"a question is 1..{MAX_QUESTION} characters")
        if conversation_id is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", conversation_id):
            raise ValidationError("conversation_id: 1..64 letters, digits, - or _")
        now = self.clock()
        cid, conv = self._conversation(conversation_id, now)
        with self._lock:
            answer = self._answer(text.lower(), conv, now, cid)
            conv.turns += 1
        return answer

    # ---------------------------------------------------------------- memory

    def _conversation(self, cid: str | None, now: datetime) -> tuple[str, _Conversation]:
        with self._lock:
            for old in [k for k, c in self._conversations.items() if c.seen and now - c.seen > self.ttl]:
                del self._conversations[old]
            cid = cid or secrets.token_urlsafe(12)
            conv = self._conversations.pop(cid, None) or _Conversation()
            conv.seen = now
            self._conversations[cid] = conv
            while len(self._conversations) > self.max_conversations:
                self._conversations.popitem(last=False)
            return cid, conv

    def conversations(self) -> int:
        return len(self._conversations)

    # ---------------------------------------------------------------- answers

    def _window(self, question: str, now: datetime) -> localtime.Window:
        phrase = next((p for p in _PERIODS if p in question), None)
        if phrase is not None:
            return localtime.window(phrase, now, self.tz)
        return localtime.Window(now - self.since, now, f"in the last {round(self.since.total_seconds() / 3600)} hours")

    def _incidents(self, window: localtime.Window) -> list[Incident]:
        listed = [i for i in self.store.incidents.list(since=window.start, limit=200) if i.opened_at <= window.end]
        full = [f for i in listed if (f := self.store.incidents.get(i.id)) is not None]
        return sorted(full, key=broke_at)

    def _answer(self, q: str, conv: _Conversation, now: datetime, cid: str) -> Answer:
        period = any(p in q for p in _PERIODS) or "what happened" in q
        if period or not conv.incidents:
            window = self._window(q, now)
            found = self._incidents(window)
            conv.incidents, conv.focus = [i.id for i in found], 0
            if period or not found:
                return self._overview(found, window, cid)
        named = self._named(q, conv)
        if named is not None:
            conv.focus = named
        elif _NEXT.search(q):
            if conv.focus + 1 >= len(conv.incidents):
                return Answer("That was the last incident; nothing happened after it.", cid,
                              incident_id=conv.incidents[conv.focus] if conv.incidents else None)
            conv.focus += 1
        elif _PREV.search(q):
            if conv.focus == 0:
                return Answer("That was the first incident; nothing happened before it.", cid,
                              incident_id=conv.incidents[0] if conv.incidents else None)
            conv.focus -= 1
        incident = self.store.incidents.get(conv.incidents[conv.focus])
        if incident is None:
            return Answer("That incident is no longer in the store.", cid)
        return self._about(q, incident, now, cid)

    def _named(self, q: str, conv: _Conversation) -> int | None:
        loaded = [self.store.incidents.get(i, timeline=False) for i in conv.incidents]
        for pos, inc in enumerate(loaded):
            if inc is not None and (inc.id.lower() in q or inc.target.name.lower() in q):
                return pos
        match = _ID.search(q)
        if match and (found := self.store.incidents.get(match.group(1), timeline=False)) is not None:
            conv.incidents.append(found.id)
            return len(conv.incidents) - 1
        return None

    def _cite(self, incident_id: str, entry: int, at: datetime, kind: str, summary: str) -> Citation:
        return Citation(incident_id, entry, at.isoformat(), kind, summary, localtime.stamp(at, self.tz))

    def _overview(self, found: list[Incident], window: localtime.Window, cid: str) -> Answer:
        span = f"{localtime.stamp(window.start, self.tz)} to {localtime.stamp(window.end, self.tz)}"
        if not found:
            return Answer(f"No incidents {window.label} ({span}).", cid)
        cites, lines = [], []
        for n, inc in enumerate(found, 1):
            cites.append(self._cite(inc.id, -1, broke_at(inc), "incident", f"{inc.rule} on {inc.target}"))
            lines.append(f"{localtime.stamp(broke_at(inc), self.tz)}: {inc.rule} on {inc.target.name}, "
                         f"{inc.status.value} [{n}]")
        head = f"{len(found)} incident{'s' if len(found) != 1 else ''} {window.label} ({span}): "
        return Answer(head + "; ".join(lines) + ".", cid, tuple(cites), found[0].id)

    def _about(self, q: str, inc: Incident, now: datetime, cid: str) -> Answer:
        timeline = sorted(inc.timeline, key=lambda e: e.at)

        def pick(kinds: tuple[str, ...], test: Callable[[TimelineEntry], bool] = lambda e: True) -> list[int]:
            return [n for n, e in enumerate(timeline) if e.kind in kinds and test(e)][:6]

        if _LOG.search(q):
            used = pick(("event",), lambda e: bool(e.data.get("message") or e.data.get("reason")))
            body = " ".join(f"{localtime.stamp(timeline[n].at, self.tz)}: "
                            f"{str(timeline[n].data.get('message') or timeline[n].summary)[:240]} [{k}]"
                            for k, n in enumerate(used, 1))
            text = f"The log of {inc.target.name}: {body}" if used else \
                f"No log lines were recorded for {inc.target.name}."
        elif _WHY.search(q):
            firsts: dict[str, int] = {}  # the first entry of each distinct reason, then the rule's decision
            for n, e in enumerate(timeline):
                if e.kind in ("event", "decision"):
                    firsts.setdefault(str(e.data.get("reason") or e.kind), n)
            used = sorted(firsts.values())[:4]
            told = [str(timeline[n].data.get("message") or timeline[n].summary)[:200] for n in used]
            cause = "; ".join(f"{t} [{k}]" for k, t in enumerate(told, 1))
            text = f"What the evidence says about {inc.target.name}: {cause}." if used else \
                f"Nothing in the timeline says why {inc.target.name} failed."
        elif _DID.search(q):
            used = pick(("step",))
            text = " ".join(f"At {localtime.stamp(timeline[n].at, self.tz)} Tagent ran "
                            f"{timeline[n].data.get('action')} ({timeline[n].data.get('status')}) [{k}]."
                            for k, n in enumerate(used, 1)) or f"Tagent ran no step for {inc.target.name}."
        elif _WHO.search(q):
            used = pick(("notification", "call", "ack", "approval"))
            text = " ".join(f"{localtime.stamp(timeline[n].at, self.tz)}: {timeline[n].summary} [{k}]."
                            for k, n in enumerate(used, 1)) or f"Nobody was notified about {inc.target.name}."
        elif _LONG.search(q):
            used = pick(("event",))[:1]
            d = durations(inc)
            healed = d["time_to_mitigate_s"] or d["time_to_resolve_s"]
            text = (f"Users of {inc.target.name} were affected for {healed:.0f} seconds" if healed is not None
                    else f"{inc.target.name} is not fixed yet") + \
                f"; detected after {d['time_to_detect_s'] or 0:.0f} seconds" + (" [1]." if used else ".")
        else:
            used = pick(("event", "step"))[:4]
            text = incident_line(inc, now, self.tz).text + "".join(f" [{k}]" for k in range(1, len(used) + 1))
        cites = tuple(self._cite(inc.id, n, timeline[n].at, timeline[n].kind, timeline[n].summary[:200])
                      for n in used)
        return Answer(text, cid, cites or (self._cite(inc.id, -1, broke_at(inc), "incident",
                                                    f"{inc.rule} on {inc.target}"),), inc.id)
