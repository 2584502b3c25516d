"""RuleSet: one validated, immutable set of rules, playbooks and escalation policies (what the engine runs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tagent.model.policy import EscalationPolicy, Playbook, Rule
from tagent.policy.documents import LoadedDoc

DEFAULT_POLICY = "default"


@dataclass(frozen=True)
class RuleSet:
    """Documents by name, per kind. Built only from documents that validated together."""

    rules: Mapping[str, Rule] = field(default_factory=lambda: MappingProxyType({}))
    playbooks: Mapping[str, Playbook] = field(default_factory=lambda: MappingProxyType({}))
    policies: Mapping[str, EscalationPolicy] = field(default_factory=lambda: MappingProxyType({}))
    origins: Mapping[tuple[str, str], str] = field(default_factory=lambda: MappingProxyType({}))
    """(kind, name) -> "path:line" of the document, for messages and the dashboard."""

    @classmethod
    def from_docs(cls, docs: Iterable[LoadedDoc]) -> RuleSet:
        rules: dict[str, Rule] = {}
        playbooks: dict[str, Playbook] = {}
        policies: dict[str, EscalationPolicy] = {}
        origins: dict[tuple[str, str], str] = {}
        for doc in docs:
            model = doc.model
            if isinstance(model, Rule):
                rules.setdefault(model.name, model)
            elif isinstance(model, Playbook):
                playbooks.setdefault(model.name, model)
            else:
                policies.setdefault(model.name, model)
            origins.setdefault((doc.kind, doc.name), f"{doc.source.path}:{doc.source.line}")
        return cls(MappingProxyType(rules), MappingProxyType(playbooks), MappingProxyType(policies),
                   MappingProxyType(origins))

    def playbook_for(self, rule: Rule | str) -> Playbook | None:
        """The playbook a rule runs (None for a notify-only rule)."""
        model = self.rules[rule] if isinstance(rule, str) else rule
        return self.playbooks.get(model.spec.then.playbook) if model.spec.then.playbook else None

    def enabled_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.spec.enabled]

    def default_policy(self) -> EscalationPolicy | None:
        """The escalation policy named `default`, else the first by name, else None."""
        if DEFAULT_POLICY in self.policies:
            return self.policies[DEFAULT_POLICY]
        return self.policies[min(self.policies)] if self.policies else None

    def __len__(self) -> int:
        return len(self.rules) + len(self.playbooks) + len(self.policies)
