"""tagent.chat: plain English (Indian English and light Hinglish included) to a validated `ChatIntent`.

`parse` is the deterministic parser (no network); `tagent.chat.fallback.understand` adds the optional
LLM fallback (imported separately, as it loads the `openai` client). Acting on an intent (guard,
confirmation, actions) is the caller's job and never happens here.
"""

from tagent.chat.intent import ChatIntent, ChatParams, ChatTarget, Intent, Metric, TargetKind
from tagent.chat.parser import Parser, parse

__all__ = ["ChatIntent", "ChatParams", "ChatTarget", "Intent", "Metric", "Parser", "TargetKind", "parse"]
