"""Teams: `POST /api/teams/messages` receives Bot Framework activities. The bearer JWT is validated against
the Bot Framework's OpenID metadata and keys (TAGENT_TEAMS_OPENID_URL) before the activity is acted on:
no valid token, 401 and nothing happens. Replies go through the connector, after the 200.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, cast

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from tagent.api.deps import get_chat, get_engine
from tagent.api.routes.slack import channel_settings
from tagent.channels.build import teams_bot
from tagent.channels.core import ChatBackend
from tagent.channels.teams.bot import BadActivity, TeamsBot
from tagent.channels.teams.verify import Unauthenticated
from tagent.errors import ConfigError

router = APIRouter(prefix="/api/teams", tags=["teams"])


def get_bot(request: Request) -> TeamsBot:
    bot = getattr(request.app.state, "teams_bot", None)
    if bot is None:
        try:
            bot = teams_bot(channel_settings(request), get_engine(request), cast(ChatBackend, get_chat(request)))
        except ConfigError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        request.app.state.teams_bot = bot
    return bot


BotDep = Annotated[TeamsBot, Depends(get_bot)]


def _handle(bot: TeamsBot, activity: dict[str, Any]) -> None:
    try:
        bot.handle(activity)
    except BadActivity as exc:
        logging.getLogger("tagent.channels.teams").warning("teams: %s", exc)


@router.post("/messages", status_code=200)
async def messages(bot: BotDep, request: Request, later: BackgroundTasks) -> Response:
    """One activity; 200 at once when authenticated, the answer follows through the connector."""
    try:
        activity = json.loads(await request.body())
    except ValueError:
        activity = None
    if not isinstance(activity, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not a JSON object")
    try:
        await run_in_threadpool(bot.authenticate, activity, request.headers.get("authorization"))
    except Unauthenticated as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"Bot Framework authentication failed: {exc}") from None
    later.add_task(_handle, bot, activity)
    return Response(status_code=200)
