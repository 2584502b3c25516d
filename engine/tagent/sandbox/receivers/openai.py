"""Local stand-in for an OpenAI-compatible LLM server: `POST /v1/chat/completions`, `GET /v1/models`.

Answers come from a `responder(request_json) -> str | dict` supplied by the test or the demo (a string
becomes the assistant's text; a dict is used as the whole assistant `message`, e.g. with `tool_calls`),
so nothing is hard-coded here. Every prompt is recorded: the redaction tests read exactly what left
Tagent. Responses follow the documented `chat.completion` object, with token `usage` estimated at four
characters per token. A configured `api_key` is checked as `Authorization: Bearer ...` (401 otherwise).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from tagent.sandbox.receivers.base import RecordedRequest, RecordingServer, Reply

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]


def echo_responder(request: dict[str, Any]) -> str:
    """Default: a short, plainly artificial answer naming the last user message's size."""
    last: dict[str, Any] = next((m for m in reversed(request.get("messages", [])) if m.get("role") == "user"), {})
    return f"(sandbox model) received {len(str(last.get('content', '')))} characters."


def explain_responder(request: dict[str, Any]) -> str:
    """For the demo: a post-mortem explanation assembled from the fenced data it was given.

    It only rearranges what the prompt holds (rule, first event, steps), so the demo shows the whole
    path (redaction, fencing, the marked section) without pretending to be a real model's insight.
    """
    prompt = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))

    def first(prefix: str) -> str:
        line = next((ln for ln in prompt.splitlines() if ln.startswith(f"| {prefix}")), "")
        return line[2:].strip()

    def block(label: str) -> list[str]:
        match = re.search(rf"<<<DATA {label} id=(\w+)>>>\n(.*?)\n<<<END DATA {label} id=\1>>>", prompt, re.S)
        return [ln[2:] for ln in match.group(2).splitlines()] if match else []

    events = block("events")
    steps = [ln for ln in block("incident") if " step" in ln]
    return "\n".join([
        "### Likely cause", f"The sandbox model sees {first('rule:') or 'an unknown rule'} firing on "
        f"{first('target:') or 'an unknown target'}.", "",
        "### Evidence", *(f"- `{e}`" for e in events[:3] or ["(no events in the prompt)"]), "",
        "### What was done", *(f"- {s}" for s in steps[:5] or ["Nothing was run."]), "",
        "### What to change", "- (sandbox model: no real analysis; configure a real LLM for one)",
    ])


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _oai_error(message: str, status: int, code: str, kind: str = "invalid_request_error") -> Reply:
    return Reply.of_json({"error": {"message": message, "type": kind, "param": None, "code": code}}, status=status)


class OpenAIReceiver(RecordingServer):
    """An OpenAI-compatible chat server at 127.0.0.1 answering from `responder`."""

    def __init__(self, responder: Responder = echo_responder, *, model: str = "sandbox-model",
                 api_key: str | None = None) -> None:
        super().__init__()
        self.responder = responder
        self.model = model
        self.api_key = api_key

    @property
    def api_base(self) -> str:
        """The `base_url` to give an OpenAI client."""
        return f"{self.base_url}/v1"

    def prompts(self) -> list[list[dict[str, Any]]]:
        """The `messages` of every chat completion request received, in order."""
        return [r.json().get("messages", []) for r in self.requests if r.path == "/v1/chat/completions"]

    def received_text(self) -> str:
        """Every byte of every request body, decoded: what a leak test searches."""
        return "\n".join(r.text for r in self.requests)

    def handle(self, request: RecordedRequest) -> Reply:
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _oai_error("Incorrect API key provided.", 401, "invalid_api_key")
        if request.method == "GET" and request.path == "/v1/models":
            return Reply.of_json({"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 0, "owned_by": "tagent-sandbox"}]})
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._complete(request)
        return _oai_error(f"Unknown request URL: {request.method} {request.path}.", 404, "unknown_url")

    def _complete(self, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _oai_error("We could not parse the JSON body of your request.", 400, "invalid_json")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return _oai_error("'messages' and 'model' are required properties.", 400, "missing_required_parameter")
        if body.get("stream"):
            return _oai_error("Streaming is not supported by the sandbox server.", 400, "unsupported_value")
        answer = self.responder(body)
        message: dict[str, Any] = ({"role": "assistant", "content": answer, "refusal": None}
                                   if isinstance(answer, str) else {"role": "assistant", **answer})
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in body["messages"])
        completion_tokens = _tokens(str(message.get("content") or "") + str(message.get("tool_calls") or ""))
        return Reply.of_json({
            "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion", "created": int(time.time()),
            "model": str(body["model"]), "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })
