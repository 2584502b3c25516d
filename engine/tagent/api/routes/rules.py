"""The active rules version, its documents and history; dry-run a rule; trigger a poll of the rules source."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from tagent.api.deps import EngineDep
from tagent.api.schemas import RuleTestBody
from tagent.api.views.rules import dry_run_rule, rules_view, sample_events

router = APIRouter(tags=["rules"])


@router.get("/rules")
def rules(engine: EngineDep) -> dict[str, Any]:
    """Active SHA, rules, playbooks and policies as data, version history, last rejected version."""
    return rules_view(engine)


@router.get("/rules/{name}/sample-events")
def rule_samples(engine: EngineDep, name: str) -> list[dict[str, Any]]:
    """Events that make the active rule `name` fire (a starting point for a dry-run)."""
    rule = engine.ruleset.rules.get(name)
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active rule named {name!r}")
    return sample_events(rule)


@router.post("/rules/test")
def test_rule(engine: EngineDep, body: RuleTestBody) -> dict[str, Any]:
    """Dry-run a rule (name or YAML) on sample events: nothing runs, nothing is stored."""
    return dry_run_rule(engine, body.rule, body.event)


@router.post("/rules/reload", status_code=status.HTTP_202_ACCEPTED)
def reload_rules(engine: EngineDep) -> dict[str, bool]:
    """Make the rules source poll now (a Git push webhook, or the dashboard's button)."""
    engine.rules.webhook_trigger()
    return {"queued": True}
