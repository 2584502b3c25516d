"""Mutating calls on a follower go to the leader (docs/ha.md).

Every replica serves the API and the dashboard, but only the leader acts: on a follower, a POST, PUT, PATCH
or DELETE under /api/ (approvals, chat and its confirmations, rules reloads, Alertmanager's webhook, Slack,
Teams and Twilio callbacks), and OTLP spans (POST /v1/traces: the span writer runs on the leader only), is
forwarded as it came (headers, body: the tokens and signatures still hold) to the leader's address, which
the leader wrote in the database with its term (TAGENT_ADVERTISE_URL). The leader's answer is returned
unchanged, with X-Tagent-Forwarded-To naming the leader. When there is no leader, its address is unknown,
it stopped renewing the Lease (frozen, dead: not worth a 30 s wait) or it does not answer, the follower
answers 503 with a Retry-After and one line: "not the leader; leader is X". A forwarded request is never
forwarded again (X-Tagent-Forwarded): a leader that changed meanwhile answers 503 too.

`LeaderForwarding` is pure ASGI: reads pass through untouched, and a forwarded body is read only here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from tagent.api.limits import ASGIApp, Receive, Scope, Send
from tagent.app.engine import Engine

log = logging.getLogger("tagent.api.forward")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOCAL = frozenset({"/api/v1/rules/test"})  # mutating verbs that change nothing: answered by any replica
OTLP_PATH = "/v1/traces"  # spans are written by the leader's span writer (Engine.start starts it)
FORWARDED = "x-tagent-forwarded"
HOP_BY_HOP = frozenset({b"host", b"content-length", b"connection", b"keep-alive", b"transfer-encoding",
                        b"te", b"trailer", b"upgrade", b"proxy-authorization", b"proxy-connection"})
TIMEOUT_S = 30.0


def needs_leader(method: str, path: str) -> bool:
    return method in MUTATING and (path.startswith("/api/") or path == OTLP_PATH) and path not in LOCAL


class LeaderForwarding:
    def __init__(self, app: ASGIApp, *, engine: Engine, timeout: float = TIMEOUT_S) -> None:
        self.app, self.engine, self.timeout = app, engine, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        elector = self.engine.leader
        if (scope["type"] != "http" or elector is None or not needs_leader(scope["method"], scope["path"])
                or elector.leading() is not None):
            await self.app(scope, receive, send)
            return
        leader = self.engine.store.leadership.current(elector.key)
        holder = leader.holder if leader and leader.holder else "unknown (an election is under way)"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if FORWARDED in headers:
            await _unavailable(send, f"not the leader; leader is {holder} (not forwarded twice)")
            return
        if leader is None or not leader.address or leader.holder == elector.identity:
            await _unavailable(send, f"not the leader; leader is {holder}")
            return
        if not elector.leader_renewing():
            await _unavailable(send, f"not the leader; leader is {holder}, which stopped renewing its Lease")
            return
        body = await _body(receive)
        url = leader.address + scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        sent = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        sent.append((FORWARDED.encode(), elector.identity.encode()))
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.request(scope["method"], url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            log.warning("forwarding %s %s to the leader %s failed: %s", scope["method"], scope["path"], holder, exc)
            await _unavailable(send, f"not the leader; leader is {holder} and it does not answer "
                                     f"({type(exc).__name__})")
            return
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
               if k.lower().encode() not in HOP_BY_HOP and k.lower() != "content-encoding"]
        out.append((b"content-length", str(len(answer.content)).encode()))
        out.append((b"x-tagent-forwarded-to", leader.holder.encode("latin-1", errors="replace")))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _unavailable(send: Send, detail: str) -> None:
    payload: dict[str, Any] = {"detail": detail}
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"2"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
