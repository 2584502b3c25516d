"""The chat parser's LLM fallback: one chat-completions call that must answer with one tool call.

Only this module talks to the model for chat. It is a transport: it sends the system prompt, the
user's text and the tool schema it is given, and returns the proposed call *unvalidated*. The caller
(tagent.chat.fallback) validates the proposal against the intent schema and the live inventory exactly
like a deterministic parse; nothing here can run anything.

Works with any OpenAI-compatible API through the real `openai` client and a base URL: OpenAI,
DeepSeek (https://api.deepseek.com/v1), Ollama (http://HOST:11434/v1), vLLM, LM Studio. The client is
given its key and base URL explicitly so it never reads OPENAI_* variables from the environment.

Both messages are redacted here, right before they leave (the same `Redactor` as `LLMClient`: the
configured secrets, the API key itself, and the secret-looking patterns), so a password a user pastes
into a chat message never reaches the model, whatever the caller forgot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tagent.errors import PermanentError, TransientError
from tagent.llm.redact import Redactor
from tagent.settings import Settings

if TYPE_CHECKING:  # openai takes a second to import: only when an LLM is configured
    import openai

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NO_KEY = "not-needed"  # Ollama and most local servers accept any key, but the client wants one


@dataclass(frozen=True)
class ToolCallProposal:
    """What the model proposed: a function name and its arguments (None when they were not JSON)."""

    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    model: str


class ChatFallbackLLM:
    """A thin, typed wrapper over `client.chat.completions.create` with tools."""

    def __init__(self, client: openai.OpenAI, model: str, max_tokens: int = 300,
                 redactor: Redactor | None = None) -> None:
        self._client = client
        self.model = model
        self.max_tokens = max_tokens
        self.redactor = redactor or Redactor()
        self.last_redacted: dict[str, int] = {}  # kind -> count masked in the last request (for the audit)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatFallbackLLM | None:
        """A client when an LLM is configured (a base URL or an API key), else None."""
        if settings.llm_base_url is None and settings.llm_api_key is None:
            return None
        import openai
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else _NO_KEY
        client = openai.OpenAI(api_key=key, base_url=settings.llm_base_url or DEFAULT_BASE_URL,
                               timeout=settings.llm_timeout, max_retries=1, organization=None, project=None,
                               webhook_secret=None)
        redactor = Redactor.from_settings(settings)
        if settings.llm_api_key is not None:
            redactor = redactor.adding([key])
        return cls(client, settings.llm_model, redactor=redactor)

    def propose(self, *, system: str, user: str, tools: list[dict[str, Any]]) -> ToolCallProposal | None:
        """Ask for one tool call. None when the model answered in prose instead.

        Raises TransientError (timeouts, connection errors, 429, 5xx: try again later) or
        PermanentError (other 4xx such as a bad key or an unknown model: fix the configuration).
        """
        system, found = self.redactor.redact(system)
        user, found_user = self.redactor.redact(user)
        found.update(found_user)
        self.last_redacted = dict(found)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "tools": tools,
            "tool_choice": "auto",  # "required" is not accepted by every OpenAI-compatible server
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        import openai
        try:
            response = self._client.chat.completions.create(**request)
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise TransientError(f"LLM unreachable: {type(exc).__name__}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientError(f"LLM answered HTTP {exc.status_code}", delay=5.0) from exc
            raise PermanentError(f"LLM refused the request: HTTP {exc.status_code}") from exc
        except openai.OpenAIError as exc:
            raise PermanentError(f"LLM answer unusable: {type(exc).__name__}") from exc
        return _first_tool_call(response, self.model)


def _first_tool_call(response: Any, model: str) -> ToolCallProposal | None:
    choices = getattr(response, "choices", None) or []
    if not choices:
        return None
    calls = getattr(choices[0].message, "tool_calls", None) or []
    for call in calls:
        function = getattr(call, "function", None)
        if function is None or not getattr(function, "name", None):
            continue
        raw = function.arguments
        if isinstance(raw, dict):  # some OpenAI-compatible servers send an object, not a JSON string
            raw = json.dumps(raw)
        raw = raw if isinstance(raw, str) else ""
        try:
            parsed = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            parsed = None
        return ToolCallProposal(name=str(function.name), arguments=parsed if isinstance(parsed, dict) else None,
                                raw_arguments=raw[:2000], model=str(getattr(response, "model", model)))
    return None
