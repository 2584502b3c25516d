"""tagent.chat: plain English (Indian English and light Hinglish included) to a validated `ChatIntent`.

`parse` is the deterministic parser (no network); `tagent.chat.fallback.understand` adds the optional
LLM fallback (imported separately, as it loads the `openai` client). Answering and acting (live read
answers, confirmation tokens, the guard and the catalog actions, the audit log) is
`tagent.chat.service.ChatService`, also imported separately: parsing alone never acts.
"""

from tagent.chat.intent import ChatIntent, ChatParams, ChatTarget, Intent, Metric, TargetKind
from tagent.chat.parser import Parser, parse

__all__ = ["ChatIntent", "ChatParams", "ChatTarget", "Intent", "Metric", "Parser", "TargetKind", "parse"]
