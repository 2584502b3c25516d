"""The one door to an LLM: any OpenAI-compatible server (OpenAI, DeepSeek, Ollama, vLLM ...).

Everything that must hold for every call lives here, so no caller can forget it: every message is
redacted before it leaves; calls have a timeout and bounded retries (the openai client's own, with
backoff); each incident has a token budget, checked before a call and charged after it; every call
leaves a `UsageRecord` (tokens, cost, latency, how much was redacted). The client never sends tool
definitions and returns only text: a tool call the model attempts anyway is counted and dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import SecretStr

from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.llm.redact import Redactor
from tagent.model.core import utcnow
from tagent.settings import Settings

log = logging.getLogger(__name__)
OPENAI_API = "https://api.openai.com/v1"
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class UsageRecord:
    at: datetime
    purpose: str  # explain | chat | draft ...
    incident_id: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    redacted: dict[str, int] = field(default_factory=dict)  # kind -> count masked in the prompt
    dropped_tool_calls: int = 0


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    finish_reason: str
    usage: UsageRecord


class BudgetExceeded(PermanentError):
    """The incident's token budget would be exceeded: no call is made."""


class LLMClient:
    """Chat completions through the `openai` client, redacted, budgeted and recorded."""

    def __init__(self, *, model: str, base_url: str = OPENAI_API, api_key: SecretStr | None = None,
                 timeout: float = 30.0, max_retries: int = 2, token_budget: int = 20000,
                 redactor: Redactor | None = None, input_price_per_mtok: float = 0.0,
                 output_price_per_mtok: float = 0.0, on_usage: Callable[[UsageRecord], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.model, self.base_url, self.token_budget = model, base_url, token_budget
        self.redactor = redactor or Redactor()
        self.prices = (input_price_per_mtok, output_price_per_mtok)
        self._on_usage, self._clock = on_usage, clock
        self._lock = threading.Lock()
        self._spent: defaultdict[str, int] = defaultdict(int)
        self.usage: list[UsageRecord] = []
        # explicit values for everything the openai client would otherwise read from OPENAI_* variables;
        # servers without auth (Ollama, vLLM) still need a non-empty key string
        import openai  # here, not at the top: it takes a second to import, and most engines run without an LLM

        key = api_key.get_secret_value() if api_key is not None else "unused"
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                     organization=None, project=None, webhook_secret=None)
        if api_key is not None:
            self.redactor = self.redactor.adding([key])

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> LLMClient | None:
        """None when no LLM is configured (neither llm_base_url nor llm_api_key)."""
        if not settings.llm_base_url and settings.llm_api_key is None:
            return None
        if not settings.llm_model:
            raise ConfigError("llm_model is empty")
        return cls(model=settings.llm_model, base_url=settings.llm_base_url or OPENAI_API,
                   api_key=settings.llm_api_key, timeout=settings.llm_timeout, max_retries=settings.llm_max_retries,
                   token_budget=settings.llm_token_budget, redactor=Redactor.from_settings(settings),
                   input_price_per_mtok=settings.llm_input_price_per_mtok,
                   output_price_per_mtok=settings.llm_output_price_per_mtok, **options)

    def spent(self, incident_id: str) -> int:
        with self._lock:
            return self._spent[incident_id]

    def remaining(self, incident_id: str) -> int:
        return max(0, self.token_budget - self.spent(incident_id))

    def complete(self, messages: Sequence[ChatMessage], *, purpose: str, incident_id: str | None = None,
                 max_tokens: int = 700, temperature: float = 0.2, json_mode: bool = False) -> Completion:
        """One chat completion. Raises BudgetExceeded, TransientError (retry later) or PermanentError."""
        redacted: Counter[str] = Counter()
        outgoing: list[dict[str, str]] = []
        for m in messages:
            text, found = self.redactor.redact(m.content)
            redacted.update(found)
            outgoing.append({"role": m.role, "content": text})
        estimate = sum(len(m["content"]) for m in outgoing) // 4 + max_tokens
        if incident_id is not None and self.spent(incident_id) + estimate > self.token_budget:
            raise BudgetExceeded(f"LLM token budget of incident {incident_id} exhausted: spent "
                                 f"{self.spent(incident_id)}, this call needs about {estimate}, budget "
                                 f"{self.token_budget}")
        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        import openai
        started = self._clock()
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=outgoing,  # type: ignore[arg-type]
                max_tokens=max_tokens, temperature=temperature, **extra)
        except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                openai.InternalServerError) as exc:
            raise TransientError(f"LLM at {self.base_url} unavailable: {type(exc).__name__}: {exc}") from exc
        except openai.APIStatusError as exc:
            raise PermanentError(f"LLM at {self.base_url} refused the request: HTTP {exc.status_code}: "
                                 f"{self.redactor(str(exc.message))}") from exc
        except openai.OpenAIError as exc:
            raise PermanentError(f"LLM call failed: {type(exc).__name__}: {exc}") from exc
        return self._record(response, purpose, incident_id, self._clock() - started, redacted)

    def _record(self, response: Any, purpose: str, incident_id: str | None, latency: float,
                redacted: Counter[str]) -> Completion:
        if not response.choices:
            raise PermanentError(f"LLM at {self.base_url} returned no choices")
        choice = response.choices[0]
        usage = response.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = (prompt_tokens * self.prices[0] + completion_tokens * self.prices[1]) / 1_000_000
        record = UsageRecord(at=utcnow(), purpose=purpose, incident_id=incident_id, model=str(response.model),
                             prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost,
                             latency_s=latency, redacted=dict(redacted),
                             dropped_tool_calls=len(choice.message.tool_calls or []))
        with self._lock:
            if incident_id is not None:
                self._spent[incident_id] += prompt_tokens + completion_tokens
            self.usage.append(record)
        if record.dropped_tool_calls:
            log.warning("LLM answered %s with %d tool call(s); Tagent gave it no tools and ignored them",
                        purpose, record.dropped_tool_calls)
        if self._on_usage is not None:
            self._on_usage(record)
        text = self.redactor(choice.message.content or "")
        return Completion(text=text, model=str(response.model), finish_reason=str(choice.finish_reason),
                          usage=record)
