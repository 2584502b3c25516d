"""A local OpenAI-compatible server: POST /v1/chat/completions, answering what each test scripts.

It implements the documented response shape (choices[0].message.tool_calls[].function.{name,
arguments}) so the real `openai` client, pointed at 127.0.0.1 with base_url, parses it as it would
an answer from OpenAI, DeepSeek or Ollama. Every request is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, Any]]


def tool_call_answer(name: str, arguments: dict[str, Any] | str, model: str = "local-model") -> dict[str, Any]:
    """A chat completion whose message calls one function (arguments as a JSON string, or as sent)."""
    args = json.dumps(arguments) if isinstance(arguments, dict) else arguments
    return {
        "id": "chatcmpl-local-1", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": args}}]}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def object_arguments_answer(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The variant some OpenAI-compatible servers send: `arguments` as a JSON object, not a string."""
    answer = tool_call_answer(name, "{}")
    answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = arguments
    return answer


def prose_answer(text: str) -> dict[str, Any]:
    answer = tool_call_answer("unused", "{}")
    answer["choices"][0]["message"] = {"role": "assistant", "content": text}
    answer["choices"][0]["finish_reason"] = "stop"
    return answer


@dataclass
class LocalLLM:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    script: Callable[[dict[str, Any]], Reply] = lambda body: (500, {"error": {"message": "no script"}})

    def answer(self, reply: dict[str, Any], status: int = 200) -> None:
        self.script = lambda body: (status, reply)


@contextmanager
def local_llm() -> Iterator[LocalLLM]:
    """Start the server on a free port; yield its state; stop it."""
    state = LocalLLM(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                status, reply = 404, {"error": {"message": f"no route {self.path}"}}
            else:
                state.requests.append(body)
                state.headers.append({k.lower(): v for k, v in self.headers.items()})
                status, reply = state.script(body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
