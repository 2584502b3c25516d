"""Two requests in one message ("restart X and then scale Y", "A; B") are never reduced to one.

The message is cut at clause separators; when at least two clauses each carry a request of their own and
one of them changes something, the parser asks instead of picking one: it lists what it read, so the
person sends them one at a time (each with its own confirmation).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tagent.chat.intent import ChatIntent, Intent
from tagent.chat.intents import TABLE, IntentTable

_SEPARATORS = re.compile(
    r";|\.\s+(?=\S)|(?<![\w-])(?:and then|and also|and after that|after that|then|aur phir|aur fir|phir|fir|"
    r"and|aur)(?![\w-])", re.I)


def clauses(text: str) -> list[str]:
    return [c.strip(" ,.!?") for c in _SEPARATORS.split(text) if c and c.strip(" ,.!?")]


def compound(text: str, parse: Callable[[str], ChatIntent], table: IntentTable = TABLE) -> ChatIntent | None:
    """A question listing the requests when `text` holds two or more of them (one a change); else None."""
    parts = clauses(text)
    if len(parts) < 2:
        return None
    found = [parse(part) for part in parts]
    requests = [r for r in found if _request(r, table)]
    if len(requests) < 2 or not any(r.requires_confirmation for r in requests):
        return None
    if len({(r.intent, str(r.target)) for r in requests}) < 2:
        return None
    listed = "; ".join(f"{n}) {_said(r)}" for n, r in enumerate(requests, 1))
    return ChatIntent(text=text, intent=Intent.unknown, confidence=0.5, question_reason="compound_request",
                      question=f"I read {len(requests)} requests: {listed}. I run one change per confirmation, "
                               "so send them one at a time, the first one first. Nothing was changed.")


def _request(parsed: ChatIntent, table: IntentTable) -> bool:
    """A clause that asks for something on its own: understood without a question, and with a clear cue (a
    weak one, like "the pods keep crashing" before "restart cart", describes rather than asks)."""
    spec = table.get(parsed.intent)
    if spec is None or parsed.question is not None:
        return False
    return (parsed.confidence or 0.0) >= spec.clause_confidence


def _said(request: ChatIntent) -> str:
    if request.summary:
        return request.summary
    target = f" {request.target}" if request.target is not None else ""
    return f"{request.intent}{target}"
