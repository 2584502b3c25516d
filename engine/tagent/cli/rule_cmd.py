"""`tagent test-rule RULE_FILE --event EVENT_FILE`: dry-run rules on sample events (st2-rule-tester style)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import TagentError

if TYPE_CHECKING:  # the rules engine (durable_rules), the guard and the store load only when the command runs
    from tagent.detect.dryrun import Judge, Sample
    from tagent.model.policy import Playbook, Rule
    from tagent.settings import Settings

NOT_FIRED = 3
HELP = (
    "Dry-run the rules of RULE_FILE on the event(s) of EVENT_FILE: does a rule fire, with which playbook, "
    "parameters and steps, and what the guard would say (your settings, a scratch store: no cooldown "
    "history). Nothing is executed and nothing is written to your database.\n\n"
    "EVENT_FILE is YAML or JSON: one Event mapping, or a list of Events processed in order with the clock at "
    "each event's observed_at (a series of samples tests a `for:` window, several events an `all`). An item "
    "`{traces: {service: NS/NAME, p99_ms: 2300, error_ratio: 0.2, ...}, observed_at: ...}` is a trace sample: "
    "a service's RED numbers, matched by the rules' `traces` conditions.\n\n"
    "Exit codes: 0 a rule fired; 3 no rule fired; 1 the files are invalid; 2 bad usage."
)


def _rules(path: Path) -> list[Rule]:
    from tagent.model.policy import Rule
    from tagent.policy.documents import load_file

    docs, problems = load_file(path)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        fail(f"{problems[0]}{more}")
    rules = [doc.model for doc in docs if isinstance(doc.model, Rule)]
    if not rules:
        fail(f"{path}: no Rule document in this file")
    return rules


def _events(path: Path) -> list[Sample]:
    import yaml

    from tagent.detect.dryrun import parse_events
    from tagent.errors import ValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the event file: {exc}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        fail(f"{path}{line}: not valid YAML or JSON: {getattr(exc, 'problem', None) or exc}")
    try:
        return parse_events(data)
    except ValidationError as exc:
        fail(f"{path}: {exc}")


def _playbooks(directory: Path) -> dict[str, Playbook]:
    """Every valid Playbook under `directory` (broken documents elsewhere are `tagent validate`'s job)."""
    from tagent.model.policy import Playbook
    from tagent.policy.documents import load_file
    from tagent.policy.files import yaml_files

    found: dict[str, Playbook] = {}
    for file in yaml_files(directory):
        for doc in load_file(file)[0]:
            if isinstance(doc.model, Playbook):
                found.setdefault(doc.model.name, doc.model)
    return found


@contextmanager
def _scratch_guard(settings: Settings) -> Iterator[Judge]:
    """The real guard with the user's safety settings on a throw-away SQLite store."""
    from tagent.guard import Guard
    from tagent.store import Store

    with tempfile.TemporaryDirectory(prefix="tagent-test-rule-") as tmp:
        scratch = settings.model_copy(update={"data_dir": Path(tmp), "db_url": None})
        store = Store.open(scratch.database_url)
        try:
            guard = Guard(store, scratch)

            def judge(decision: Any, rule: Rule) -> dict[str, Any]:
                verdict = guard.admit(decision, cooldown=rule.spec.cooldown)
                return verdict.model_dump(mode="json", include={"allowed", "mode", "reason", "detail"})

            yield judge
        finally:
            store.db.dispose()


def _settings() -> Settings:
    import pydantic

    from tagent.settings import Settings

    try:
        return Settings()
    except (pydantic.ValidationError, TagentError) as exc:
        first = exc.errors()[0] if isinstance(exc, pydantic.ValidationError) else None
        fail(f"invalid settings: {first['loc'][0]}: {first['msg']}" if first else f"invalid settings: {exc}")


def _print_text(result: dict[str, Any]) -> None:
    for d in result["decisions"]:
        target = d["target"]
        where = f"{target['namespace']}/{target['name']}" if target["namespace"] else target["name"]
        print(f"FIRES  {d['rule']} on {target['kind']} {where} (event {d['event_index'] + 1} of"
              f" {result['events']}), mode {d['mode']}, severity {d['severity']}")
        if d["error"]:
            print(f"  error: {d['error']} (the playbook would not run; people are told instead)")
            continue
        print(f"  playbook: {d['playbook'] or '(none, notify only)'}")
        for key, value in d["params"].items():
            print(f"  params.{key}: {value!r}")
        guard = d["guard"]
        if guard is not None:
            verdict = "allowed" if guard["allowed"] else "refused"
            detail = f": {guard['detail']}" if guard["detail"] else ""
            print(f"  guard: {verdict}, {guard['mode']} ({guard['reason']}){detail}")
        if d["playbook_found"] is False:
            print(f"  steps: playbook {d['playbook']!r} not found")
        for i, step in enumerate(d["steps"] or [], start=1):
            detail = step.get("error") or ", ".join(f"{k}={v!r}" for k, v in step["with"].items())
            print(f"  step {i}. {step['name']}: {step['action']} {detail}".rstrip())
    fired = {d["rule"] for d in result["decisions"]}
    for name in result["rules"]:
        if name not in fired:
            state = "does not fire" if name in result["enabled"] else "disabled (never fires)"
            print(f"NO     {name} {state}")


def register(app: typer.Typer) -> None:
    @app.command(name="test-rule", help=HELP)
    def test_rule(
        rule_file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                         help="YAML file with one or more Rule documents"),
        event: Path = typer.Option(..., "--event", "-e", exists=True, dir_okay=False, readable=True,
                                   help="YAML/JSON file with one Event or a list of Events (or trace samples)"),
        playbooks: Path | None = typer.Option(None, "--playbooks", file_okay=False, exists=True,
                                              help="directory of playbooks (default: ../playbooks next to"
                                                   " the rule file's directory, when it exists)"),
        output: Output = OutputOpt,
    ) -> None:
        from tagent.detect.dryrun import dry_run

        rules = _rules(rule_file)
        events = _events(event)
        book_dir = playbooks
        if book_dir is None and (rule_file.resolve().parent.parent / "playbooks").is_dir():
            book_dir = rule_file.resolve().parent.parent / "playbooks"
        books = _playbooks(book_dir) if book_dir is not None else None
        settings = _settings()
        try:
            with _scratch_guard(settings) as judge:
                result = dry_run(rules, events, books, settings.protected_namespaces, judge)
        except TagentError as exc:
            fail(str(exc))
        if output == Output.json:
            print_json(result)
        else:
            _print_text(result)
        if not result["fired"]:
            raise typer.Exit(NOT_FIRED)
