"""`tagent debrief`: the morning debrief as text, audio or a talking-avatar video; `tagent debrief ask`.

    tagent debrief --since 12h                       the narrative, local times in the team's zone
    tagent debrief --since 24h --video night.mp4     spoken by the avatar (local provider by default)
    tagent debrief --audio night.wav                 speech only (espeak-ng)
    tagent debrief ask "why did payment-service crash?"

The zone is the escalation policy's (from the rules the settings name), unless --timezone says another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import ConfigError, TagentError

if TYPE_CHECKING:
    from tagent.debrief.service import DebriefService

DbOpt = typer.Option(None, "--db", help="database URL (default: the configured one, SQLite under the data dir)")
DataDirOpt = typer.Option(None, "--data-dir", help="the engine's data dir (its tagent.db; videos cached there)")
TzOpt = typer.Option(None, "--timezone", help="IANA zone (default: the escalation policy's)")


@contextmanager
def _service(db: str | None, data_dir: Path | None, timezone: str | None,
             rephrase: bool = False) -> Iterator[DebriefService]:
    from tagent.debrief.localtime import timezone_of_rules, zone
    from tagent.debrief.narrative import llm_reword
    from tagent.debrief.service import DebriefService
    from tagent.debrief.video import make_provider
    from tagent.llm.client import LLMClient
    from tagent.model import utcnow
    from tagent.settings import load_settings
    from tagent.store import Store

    try:
        settings = load_settings(data_dir=data_dir)
        tz: tzinfo = zone(timezone) if timezone else timezone_of_rules(settings.rules)
        client = LLMClient.from_settings(settings) if rephrase else None
        if rephrase and client is None:
            raise ConfigError("--rephrase needs an LLM (TAGENT_LLM_* settings), and none is configured")
        store = Store.open(db or settings.database_url)
    except TagentError as exc:
        fail(str(exc), 2 if "zone" in str(exc) or "--rephrase" in str(exc) else 1)
    service = DebriefService(store, utcnow, tz, settings.data_dir / "debrief",
                             reword=llm_reword(client) if client is not None else None,
                             providers=lambda name: make_provider(name, settings))
    try:
        yield service
    finally:
        service.close()
        store.close()


def _since(text: str) -> timedelta:
    from tagent.model.duration import parse_duration

    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        fail(f"--since: {exc}", 2)


def debrief(ctx: typer.Context, since: str = typer.Option("12h", "--since", help="how far back: 30m, 12h, 2d"),
            video: Path | None = typer.Option(None, "--video", help="write the avatar video here (.mp4 or .webm)"),
            provider: str | None = typer.Option(None, "--provider", help="local (default), d-id or heygen"),
            audio: Path | None = typer.Option(None, "--audio", help="also speak it into this WAV file (espeak-ng)"),
            rephrase: bool = typer.Option(False, "--rephrase", help="let the LLM reword it (kept only when every "
                                                                     "time and name survives)"),
            timezone: str | None = TzOpt, db: str | None = DbOpt, data_dir: Path | None = DataDirOpt,
            output: Output = OutputOpt) -> None:
    """The morning debrief: the night's incidents told in local time; as audio or an avatar video."""
    if ctx.invoked_subcommand is not None:
        return
    from tagent.debrief.debrief import speak

    if video is not None and video.suffix.lower() not in (".mp4", ".webm"):
        fail("--video: name the file .mp4 or .webm", 2)
    window = _since(since)
    with _service(db, data_dir, timezone, rephrase) as service:
        try:
            story = service.narrative(window, rephrase=rephrase)
            rendered = None
            if video is not None:
                chosen = service.providers(provider)
                rendered = chosen.render(story.text, video)
            if audio is not None:
                speak(story.text, audio)
        except TagentError as exc:
            fail(str(exc))
    if output == Output.json:
        print_json({**story.as_dict(), "audio": str(audio) if audio else None,
                    "video": {"path": str(rendered.path), "seconds": round(rendered.seconds, 2),
                              "provider": rendered.provider} if rendered else None})
        return
    print(story.text)
    if rendered is not None:
        print(f"(video: {rendered.path}, {rendered.seconds:.1f} s, {rendered.provider})")
    if audio is not None:
        print(f"(spoken to {audio})")


def ask(question: str = typer.Argument(..., help="a question about the incidents"),
        since: str = typer.Option("24h", "--since", help="which incidents the conversation is about"),
        timezone: str | None = TzOpt, db: str | None = DbOpt, data_dir: Path | None = DataDirOpt,
        output: Output = OutputOpt) -> None:
    """Ask about the debrief; the answer cites the incidents and timeline entries it used."""
    with _service(db, data_dir, timezone) as service:
        service.asker.since = _since(since)
        try:
            answer = service.ask(question)
        except TagentError as exc:
            fail(str(exc), 2)
    if output == Output.json:
        print_json(answer.as_dict())
        return
    print(answer.text)
    for n, c in enumerate(answer.citations, 1):
        print(f"  [{n}] incident {c.incident_id} {c.at[:19]} {c.kind}: {c.summary}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="debrief", help="The morning debrief: narrative, audio, avatar video, questions.",
                        invoke_without_command=True)
    group.callback()(debrief)
    group.command("ask")(ask)
    app.add_typer(group, name="debrief")
