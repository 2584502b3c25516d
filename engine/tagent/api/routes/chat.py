"""ChatOps: plain English in, an intent out; a mutating intent needs a one-time confirmation.

The chat service (`tagent.chat`) does the parsing, name resolution and guarded execution; these routes only
carry it over HTTP. Its answers are pydantic models or plain data and go out as JSON unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder

from tagent.api.deps import ChatDep
from tagent.api.identity import acting_user
from tagent.api.schemas import ChatBody, ConfirmBody, DeclineBody

router = APIRouter(tags=["chat"])


@router.post("/chat")
def chat(chat: ChatDep, body: ChatBody, request: Request) -> Any:
    """The intent, its kubectl equivalent and answer; `token` when it mutates and needs a confirmation."""
    return jsonable_encoder(chat.ask(body.text, acting_user(request, body, "user")))


@router.post("/chat/confirm")
def confirm(chat: ChatDep, body: ConfirmBody, request: Request) -> Any:
    """Run a confirmed mutation (once per token), through the guard."""
    return jsonable_encoder(chat.confirm(body.token, acting_user(request, body, "user"), body.typed_name))


@router.post("/chat/decline")
def decline(chat: ChatDep, body: DeclineBody, request: Request) -> Any:
    """The user said no: the token is spent and nothing runs."""
    return jsonable_encoder(chat.decline(body.token, acting_user(request, body, "user")))
