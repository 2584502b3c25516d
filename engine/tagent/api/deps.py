"""Request-scoped accessors: the routes get the Engine and its optional collaborators from `app.state`.

The app factory stores them once; routes declare what they need with `Annotated[..., Depends(...)]`, so a
route module never reaches for a global and a test builds as many apps as it likes.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, cast

from fastapi import Depends, HTTPException, Request, status

from tagent.app.engine import Engine
from tagent.settings import Settings


class ChatBackend(Protocol):
    """What the API needs from the chat service (`tagent.chat`): ask, then confirm a mutation."""

    def ask(self, text: str, user: str) -> Any: ...

    def confirm(self, token: str, user: str, typed_name: str | None = None) -> Any: ...

    def decline(self, token: str, user: str) -> Any: ...


def get_engine(request: Request) -> Engine:
    return cast(Engine, request.app.state.engine)


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_chat(request: Request) -> ChatBackend:
    chat = request.app.state.chat
    if chat is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "chat is not available: this engine runs without the chat service")
    return cast(ChatBackend, chat)


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ChatDep = Annotated[ChatBackend, Depends(get_chat)]
