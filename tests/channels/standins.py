"""Local stand-ins, served by uvicorn on 127.0.0.1 and reached over real HTTP:

- `SlackApi`: the Slack Web API methods the bot uses (chat.postMessage, chat.update, chat.postEphemeral,
  views.open), for slack-sdk's WebClient with base_url pointed here; checks the bot token, records calls.
- `BotFrameworkIssuer`: an OpenID issuer with its own RSA key (metadata + JWKS) that signs activity tokens,
  and the client-credentials token endpoint the connector client uses.
- `Connector`: the Bot Framework connector REST API (POST/PUT activities), checking the issued app token.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, HTTPException, Request
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve as ws_serve

from tests.api.server import serve


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    path: str = ""


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def named(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]


class SlackApi(Recorder):
    def __init__(self, bot_token: str, app_token: str = "", socket_url: str = "") -> None:
        super().__init__()
        self.bot_token, self.app_token, self.socket_url = bot_token, app_token, socket_url
        self.ts = itertools.count(1)
        self.app = FastAPI()

        @self.app.post("/commands/{command_id}")  # a slash command's response_url
        async def respond(command_id: str, request: Request) -> dict[str, Any]:
            self.add(Call("response_url", {"id": command_id, **(await request.json())}))
            return {"ok": True}

        @self.app.post("/api/{method}")
        async def method(method: str, request: Request) -> dict[str, Any]:
            if method == "apps.connections.open":  # Socket Mode: the app-level token, never the bot's
                if not self.app_token or request.headers.get("authorization") != f"Bearer {self.app_token}":
                    return {"ok": False, "error": "invalid_auth"}
                self.add(Call(method, {}))
                return {"ok": True, "url": self.socket_url}
            if request.headers.get("authorization") != f"Bearer {self.bot_token}":
                return {"ok": False, "error": "invalid_auth"}
            raw = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                args = json.loads(raw)
            else:
                args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
            if method not in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open"):
                return {"ok": False, "error": "unknown_method"}
            self.add(Call(method, args))
            ts = args.get("ts") or f"1700000000.{next(self.ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": args}


class SocketModeServer:
    """Slack's Socket Mode end: says hello, pushes envelopes, collects the acknowledgements."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.connections: list[Any] = []
        self.lock = threading.Lock()
        self.server = ws_serve(self._session, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"
        self.thread = threading.Thread(target=self.server.serve_forever, name="socket-mode", daemon=True)
        self.thread.start()

    def _session(self, connection: Any) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        with self.lock:
            self.connections.append(connection)
        try:
            for raw in connection:
                with self.lock:
                    self.acks.append(json.loads(raw))
        except ConnectionClosed:
            pass  # the client went away (its close() does not always send a close frame)

    def push(self, envelope: dict[str, Any]) -> None:
        with self.lock:
            live = list(self.connections)
        assert live, "no Socket Mode connection"
        live[-1].send(json.dumps(envelope))

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


class BotFrameworkIssuer:
    """Signs tokens like login.botframework.com; serves its metadata, JWKS and an app-token endpoint."""

    def __init__(self, app_id: str, app_password: str) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.app_id, self.app_password = app_id, app_password
        self.issued: set[str] = set()
        self.endorsements = ["msteams", "webchat"]  # the channels the key may sign for, as the real JWKS lists
        self.url = ""
        self.app = FastAPI()

        @self.app.get("/.well-known/openidconfiguration")
        def metadata() -> dict[str, Any]:
            return {"issuer": self.issuer, "jwks_uri": f"{self.url}/keys",
                    "id_token_signing_alg_values_supported": ["RS256"]}

        @self.app.get("/keys")
        def keys() -> dict[str, Any]:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256",
                              "endorsements": list(self.endorsements)}]}

        @self.app.post("/token")
        async def token(request: Request) -> dict[str, Any]:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            if form.get("grant_type") != "client_credentials" or form.get("client_id") != self.app_id \
                    or form.get("client_secret") != self.app_password:
                raise HTTPException(401, "invalid_client")
            issued = secrets.token_urlsafe(16)
            self.issued.add(issued)
            return {"token_type": "Bearer", "access_token": issued, "expires_in": 3600}

    @property
    def issuer(self) -> str:
        return "https://api.botframework.com"

    @property
    def openid_url(self) -> str:
        return f"{self.url}/.well-known/openidconfiguration"

    def sign(self, service_url: str, *, audience: str | None = None, issuer: str | None = None,
             expires_in: float = 600, key: rsa.RSAPrivateKey | None = None, kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": issuer or self.issuer, "aud": audience or self.app_id, "serviceUrl": service_url,
                  "iat": now, "nbf": now, "exp": int(now + expires_in)}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


class Connector(Recorder):
    def __init__(self, issuer: BotFrameworkIssuer) -> None:
        super().__init__()
        self.issuer = issuer
        self.ids = itertools.count(1)
        self.app = FastAPI()

        def check(request: Request) -> None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme != "Bearer" or token not in self.issuer.issued:
                raise HTTPException(401, "unauthorized")

        @self.app.post("/v3/conversations/{conversation}/activities")
        @self.app.post("/v3/conversations/{conversation}/activities/{reply_to}")
        async def post(conversation: str, request: Request, reply_to: str = "") -> dict[str, Any]:
            check(request)
            activity_id = f"act-{next(self.ids)}"
            self.add(Call("reply", {"conversation": conversation, "reply_to": reply_to, "id": activity_id,
                                    "activity": await request.json()}))
            return {"id": activity_id}

        @self.app.put("/v3/conversations/{conversation}/activities/{activity_id}")
        async def put(conversation: str, activity_id: str, request: Request) -> dict[str, Any]:
            check(request)
            self.add(Call("update", {"conversation": conversation, "id": activity_id,
                                     "activity": await request.json()}))
            return {"id": activity_id}


def served(stack: ExitStack, *apps: Any) -> Iterator[str]:
    for app in apps:
        yield stack.enter_context(serve(app))
