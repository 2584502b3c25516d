"""`tagent chat "TEXT"`: plain English to an answer, or to a confirmed change (CLI.md, "Chat intents")."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import TagentError

if TYPE_CHECKING:  # the chat stack (kubernetes, openai, sqlalchemy) loads only when the command runs
    from tagent.chat.reply import ChatReply, ChatResult
    from tagent.chat.service import ChatService

HELP = """Ask Tagent in plain English (Indian English and light Hinglish too): "How many servers are
running right now?", "Scale the payment-service to 10 replicas.", "Delete the test environment deployment."

Questions are answered from live data. A change (scale, restart, rollback, delete) is shown with its kubectl
equivalent and runs only after you confirm it at the prompt; a delete also asks you to type the name back.
Without a terminal, pass --yes (and, for a delete, --confirm-name NAME: --yes alone never deletes).
--dry-run decides and shows everything, the guard's verdict included, and changes nothing.

Exit codes: 0 answered (or a question back); 1 refused, declined, failed, or an error; 2 bad usage.
"""
_OK_REPLIES = ("answered", "question", "not_executed")


def _say(text: str, output: Output) -> None:
    """Human text: stdout normally; stderr with --output json (stdout carries the JSON only)."""
    print(text, file=sys.stderr if output == Output.json else sys.stdout, flush=True)


def _finish(contract: dict[str, object], text: str, output: Output, ok: bool) -> None:
    if output == Output.json:
        print_json(contract)
    else:
        print(text)
    if not ok:
        raise typer.Exit(1)


def _confirm_interactively(service: ChatService, reply: ChatReply, user: str, output: Output) -> ChatResult:
    """Ask on the terminal (or piped stdin); no answer at all is a refusal, never a yes."""
    assert reply.token is not None
    err = output == Output.json
    stdin = sys.stdin
    try:
        if stdin is None or stdin.closed:
            raise typer.Abort()
        if not typer.confirm("Proceed?", default=False, err=err):
            return service.decline(reply.token, user)
        typed = None
        if reply.confirm_name is not None:
            typed = typer.prompt(f"Type the name of the deployment to delete ({reply.confirm_name})",
                                 default="", show_default=False, err=err)
    except typer.Abort:
        declined = service.decline(reply.token, user)
        return declined.model_copy(update={
            "answer": "No confirmation was given (stdin is not a terminal or was empty): nothing was changed. "
                      "Pass --yes to confirm without a prompt."})
    return service.confirm(reply.token, user, typed_name=typed)


def _confirm_with_yes(service: ChatService, reply: ChatReply, user: str, confirm_name: str | None) -> ChatResult:
    assert reply.token is not None
    if reply.confirm_name is not None and confirm_name != reply.confirm_name:
        declined = service.decline(reply.token, user)
        return declined.model_copy(update={
            "reason": "wrong_name",
            "answer": f"Refused: --yes does not delete by itself; add --confirm-name {reply.confirm_name} to delete "
                      f"it. Nothing was changed."})
    return service.confirm(reply.token, user, typed_name=confirm_name)


def chat(
    text: str = typer.Argument(..., help="what you would say to a colleague"),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help="kubeconfig (default: in-cluster config)"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: SQLite in the data dir)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="decide and show, mutate nothing"),
    yes: bool = typer.Option(False, "--yes", "-y", help="confirm a change without a prompt"),
    confirm_name: str | None = typer.Option(None, "--confirm-name",
                                            help="with --yes: the name of the deployment to delete, typed back"),
    user: str | None = typer.Option(None, "--user", help="who is asking, for the audit log (default: login name)"),
    config: Path | None = typer.Option(None, "--config", help="settings YAML file (TAGENT_* env vars also apply)"),
    output: Output = OutputOpt,
) -> None:
    from tagent.chat.reply import ReplyStatus
    from tagent.chat.service import ChatService
    from tagent.clients.kubernetes import KubeClient
    from tagent.debrief.localtime import timezone_of_rules
    from tagent.settings import load_settings
    from tagent.store import Store

    who = user or _login()
    try:
        settings = load_settings(config, kubeconfig=kubeconfig, db_url=db, dry_run=dry_run or None)
        if settings.db_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        kube = KubeClient.connect(settings.kubeconfig)
        store = Store.from_settings(settings)
    except (TagentError, OSError) as exc:
        fail(str(exc))
    try:
        # "last night" and every time in an answer are the team's (the escalation policy's zone)
        service = ChatService.from_settings(settings, kube=kube, store=store,
                                            timezone=timezone_of_rules(settings.rules))
        reply = service.ask(text, who)
        if reply.status is ReplyStatus.error:
            fail(reply.answer)
        if reply.status is not ReplyStatus.confirm:
            _finish(reply.contract(), reply.answer, output, reply.status.value in _OK_REPLIES)
            return
        _say(reply.answer, output)
        if settings.dry_run:  # nothing can change: the guard's dry-run verdict is the answer
            result = service.confirm(reply.token or "", who, typed_name=reply.confirm_name)
        elif yes:
            result = _confirm_with_yes(service, reply, who, confirm_name)
        else:
            result = _confirm_interactively(service, reply, who, output)
        _finish(result.contract(), result.answer, output, result.ok)
    except TagentError as exc:
        fail(str(exc))
    finally:
        kube.close()
        store.close()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def register(app: typer.Typer) -> None:
    app.command(name="chat", help=HELP)(chat)

