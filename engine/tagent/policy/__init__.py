"""tagent.policy: which rules, playbooks and escalation policies are active.

    loader     safe YAML with a line for every key      read_file, parse_text, SourceDoc
    validate   one set of files checked as a whole      check_paths, check_files, load_ruleset, Validation
    ruleset    the immutable result the engine runs     RuleSet
    gitops     directory / Git source, poll, activate   RulesSource, VersionRecorder (import tagent.policy.gitops)

`gitops` is not imported here: it needs GitPython (and a git binary), which `tagent validate` does not.
"""

from tagent.policy.problems import Problem
from tagent.policy.ruleset import RuleSet
from tagent.policy.validate import Validation, check_files, check_paths, load_ruleset

__all__ = ["Problem", "RuleSet", "Validation", "check_files", "check_paths", "load_ruleset"]
