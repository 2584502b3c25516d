"""Slack: `POST /api/slack/events`, `/api/slack/commands` (the /tagent slash command) and
`/api/slack/interactions` (button clicks, the delete modal). Each request is verified with the signing secret
before anything is parsed: unsigned, badly signed or stale (> 5 minutes) requests get 401 and do nothing.

The bot is built once per app from `app.state.channel_settings` (a `ChannelSettings`; read from the
environment when the app has none) over the app's engine and chat service.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from tagent.api.deps import get_chat, get_engine
from tagent.channels.build import slack_bot
from tagent.channels.core import ChatBackend
from tagent.channels.settings import ChannelSettings
from tagent.channels.slack.bot import SlackBot, Unverified, parse_form
from tagent.errors import ConfigError

router = APIRouter(prefix="/api/slack", tags=["slack"])


def channel_settings(request: Request) -> ChannelSettings:
    found = getattr(request.app.state, "channel_settings", None)
    if found is None:
        found = request.app.state.channel_settings = ChannelSettings()
    return found


def get_bot(request: Request) -> SlackBot:
    bot = getattr(request.app.state, "slack_bot", None)
    if bot is None:
        try:
            bot = slack_bot(channel_settings(request), get_engine(request), cast(ChatBackend, get_chat(request)))
        except ConfigError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        request.app.state.slack_bot = bot
    return bot


BotDep = Annotated[SlackBot, Depends(get_bot)]


async def _verified(bot: SlackBot, request: Request) -> bytes:
    body = await request.body()
    try:
        bot.verify(body, request.headers)
    except Unverified as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    return body


def _payload(raw: str) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not a JSON object")
    return found


@router.post("/events")
async def events(bot: BotDep, request: Request, later: BackgroundTasks) -> Any:
    """Events API: url_verification, app mentions and direct messages (answered in the thread)."""
    body = await _verified(bot, request)
    return bot.event(_payload(body.decode("utf-8", "replace")), later.add_task)


@router.post("/commands")
async def commands(bot: BotDep, request: Request) -> Any:
    """/tagent TEXT: answered in this response (a read at once; a change as a confirmation with buttons)."""
    body = await _verified(bot, request)
    return await run_in_threadpool(bot.command, parse_form(body))


@router.post("/interactions")
async def interactions(bot: BotDep, request: Request, later: BackgroundTasks) -> Any:
    """Button clicks and the delete modal's submission (acknowledged at once, worked in the background)."""
    body = await _verified(bot, request)
    return bot.interaction(_payload(parse_form(body).get("payload", "")), later.add_task)
