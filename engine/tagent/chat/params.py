"""Parameters from a normalised token list: replica counts (absolute or relative), metric, log window,
explain period, rollback revision.

A replica count is taken only where the message says it is one (next to "replicas", after "to"/"by",
"make it N"); numbers that are durations ("last 10 minutes"), line counts or revisions are not counts.
Several different counts, or a relative change without a direction, are reported as unclear so the
parser asks instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tagent.chat.intent import Metric
from tagent.chat.numbers import NUMBER_WORDS

_UNITS = {"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s", "m": "m", "min": "m", "mins": "m",
          "minute": "m", "minutes": "m", "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "ghante": "h",
          "ghanta": "h", "d": "d", "day": "d", "days": "d", "din": "d", "week": "w", "weeks": "w"}
_NON_COUNT_AFTER = set(_UNITS) | {"lines", "line", "percent", "%", "am", "pm", "baje", "o'clock"}
_NON_COUNT_BEFORE = {"revision", "version", "v", "rev", "node", "last", "past", "tail", "previous", "top"}
_COUNT_BEFORE = {"to", "it", "be", "at", "need", "with", "make", "run", "set", "have", "or"}
_UP = {"up", "increase", "add", "more", "extra", "raise", "bump", "plus", "badhao"}
_DOWN = {"down", "decrease", "reduce", "less", "fewer", "lower", "minus", "delete", "cut"}
_METRICS = [("error_rate", Metric.error_rate), ("request_rate", Metric.request_rate), ("latency", Metric.latency),
            ("restarts", Metric.restarts), ("memory", Metric.memory), ("cpu", Metric.cpu)]
_STOP_WORDS = {"stop", "pause", "shutdown", "off"}
RESTART_COUNT = r"restarts? (?:the )?most|most restarts?|restart counts?"
"""Asking about restarts ("which pods restart the most"), not for one."""


# a negative or fractional number in the raw text: never a replica count, and never silently another one
_INVALID_COUNT = re.compile(
    rf"(?<![\w.-])-\s?\d+(?![\w-])|(?<![\w.])\d+\.\d+(?![\w.])"
    rf"|(?<![\w-])(?:minus|negative)\s+(?:\d+|{NUMBER_WORDS})(?![\w-])", re.I)


def invalid_count(text: str) -> str | None:
    """The first negative or non-whole number of a message ("-2", "2.5", "minus three"), else None."""
    found = _INVALID_COUNT.search(text)
    return found.group(0) if found else None


@dataclass(frozen=True)
class ReplicaRequest:
    """What the message says about the replica count. `unclear` means: ask."""

    absolute: int | None = None
    delta: int | None = None
    factor: float | None = None
    unclear: str | None = None
    stated_from: int | None = None  # "from 2 to 5": the count the user believes runs now

    @property
    def relative(self) -> bool:
        return self.absolute is None and (self.delta is not None or self.factor is not None)

    def exact(self, current: int) -> bool:
        """Whether a factor gives a whole count from `current` (half of 3 does not)."""
        return self.factor is None or float(current * self.factor).is_integer()

    def resolve(self, current: int | None) -> int | None:
        """The target count, given the current one (needed for relative requests)."""
        if self.absolute is not None:
            return self.absolute
        if current is None:
            return None
        if self.delta is not None:
            return max(0, current + self.delta)
        if self.factor is not None:
            return max(1, round(current * self.factor)) if current else 0
        return None

    @property
    def given(self) -> bool:
        return self.absolute is not None or self.delta is not None or self.factor is not None


_WAKE = re.compile(r"(?<![\w-])(?:wake|bring(?: \S+){0,3} back|restore(?: \S+){0,4} replicas)(?![\w-])")


def wakes(tokens: list[str]) -> bool:
    """"wake up X", "bring X back", "restore X's replicas": back to the count from before a scale-down."""
    return bool(_WAKE.search(" ".join(tokens)))


def replica_request(tokens: list[str]) -> ReplicaRequest:
    """Read the replica count a scale message asks for."""
    if "double" in tokens:
        return ReplicaRequest(factor=2.0)
    if "triple" in tokens:
        return ReplicaRequest(factor=3.0)
    if "halve" in tokens or ("half" in tokens and "replicas" in tokens):
        return ReplicaRequest(factor=0.5)
    counts: list[int] = []
    deltas: list[int] = []
    stated_from: int | None = None
    for i, tok in enumerate(tokens):
        if not tok.isdigit():
            continue
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if after in _NON_COUNT_AFTER or before in _NON_COUNT_BEFORE:
            continue
        value = int(tok)
        if before == "from":
            stated_from = value  # "from 2 to 10": 2 is the current count, not the request
            continue
        after2 = tokens[i + 2] if i + 2 < len(tokens) else ""
        relative = ("more", "extra", "less", "fewer")  # "2 more", and "one pod less"
        if before in ("by", "add", "plus", "minus", "delete") or after in relative \
                or (after == "replicas" and after2 in relative):
            deltas.append(value * _direction(tokens, i))
        elif before in _COUNT_BEFORE or "replicas" in (before, after) or sum(t.isdigit() for t in tokens) == 1:
            counts.append(value)
    if any(d == 0 for d in deltas):
        return ReplicaRequest(unclear="Should the count go up or down?")
    if len(set(counts)) > 1 or (counts and deltas):
        shown = ", ".join(str(n) for n in sorted(set(counts) | {abs(d) for d in deltas}))
        return ReplicaRequest(unclear=f"I read more than one number ({shown}).")
    if counts:
        return ReplicaRequest(absolute=counts[0], stated_from=stated_from)
    if len(set(deltas)) == 1:
        return ReplicaRequest(delta=deltas[0])
    if any(t in _STOP_WORDS for t in tokens) or "zero" in tokens:
        return ReplicaRequest(absolute=0)
    return ReplicaRequest()


def _direction(tokens: list[str], i: int) -> int:
    """+1 / -1 from the words of the message ("increase by 2", "2 fewer"), 0 when it does not say."""
    window = tokens[max(0, i - 6): i + 3]
    up = any(t in _UP for t in window)
    down = any(t in _DOWN for t in window)
    if up == down:
        return 0
    return 1 if up else -1


def metric(tokens: list[str]) -> Metric | None:
    if "cpu" in tokens and "memory" in tokens:
        return None  # both: what `kubectl top` shows by default
    if re.search(rf"(?<![\w-])(?:{RESTART_COUNT})(?![\w-])", " ".join(tokens)):
        return Metric.restarts
    for word, value in _METRICS:
        if word in tokens:
            return value
    if "slow" in tokens or "slowness" in tokens:
        return Metric.latency
    if "errors" in tokens or "error" in tokens:
        return Metric.error_rate
    return None


def duration_after(tokens: list[str], words: tuple[str, ...]) -> str | None:
    """'last 10 minutes' -> '10m', 'past hour' -> '1h', 'since 2 hours' -> '2h'."""
    for i, tok in enumerate(tokens):
        if tok not in words:
            continue
        rest = tokens[i + 1: i + 3]
        if len(rest) >= 2 and rest[0].isdigit() and rest[1] in _UNITS:
            return _fmt(int(rest[0]), _UNITS[rest[1]])
        if rest and rest[0] in _UNITS:
            return _fmt(1, _UNITS[rest[0]])
        if rest and re.fullmatch(r"\d+[smhd]", rest[0]):
            return rest[0]
    return None


def _fmt(n: int, unit: str) -> str:
    return f"{n * 7}d" if unit == "w" else f"{n}{unit}"


def tail_lines(tokens: list[str]) -> int | None:
    """'last 50 lines', '200 lines', 'tail 20'."""
    for i, tok in enumerate(tokens):
        if tok.isdigit() and ("lines" in tokens[i + 1: i + 3] or "line" in tokens[i + 1: i + 3]):
            return int(tok)
        if tok == "tail" and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            return int(tokens[i + 1])
    return None


def period(tokens: list[str]) -> str | None:
    """The time an explain request is about: named periods or a duration."""
    text = " ".join(tokens)
    for phrase, value in (("last night", "last-night"), ("yesterday night", "last-night"),
                          ("tonight", "last-night"), ("this morning", "this-morning"), ("morning", "this-morning"),
                          ("yesterday", "yesterday"), ("today", "today"), ("weekend", "weekend"),
                          ("week", "7d"),
                          ("night", "last-night")):
        if re.search(rf"(?<![\w-]){phrase}(?![\w-])", text):
            return value
    return duration_after(tokens, ("last", "past", "since", "in", "previous", "over"))


def revision(tokens: list[str]) -> int | None:
    for i, tok in enumerate(tokens[:-1]):
        if tok in ("revision", "rev", "version", "v") and tokens[i + 1].isdigit():
            return int(tokens[i + 1])
    return None
