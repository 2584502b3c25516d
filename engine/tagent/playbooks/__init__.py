"""tagent.playbooks: running playbooks (journaled, resumable); the incidents they belong to are tagent.incidents.

    PlaybookRunner(store, registry, owner=...)      runner.create(...), .execute(run_id), .resume_unfinished()
    RunOutcome, StepReport                          what a run did, step by step
    RunSnapshot                                     what a run stores to resume from (not the live rules)
"""

from tagent.playbooks.runner import PlaybookRunner, RunOutcome, StepReport, snapshot_of
from tagent.playbooks.snapshot import RunSnapshot, manual_event, rule_context
from tagent.playbooks.steps import JournalPlans, render_step

__all__ = ["JournalPlans", "PlaybookRunner", "RunOutcome", "RunSnapshot", "StepReport", "manual_event",
           "render_step", "rule_context", "snapshot_of"]
