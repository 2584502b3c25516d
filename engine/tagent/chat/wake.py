"""Waking up what Tagent scaled down: "wake up cart", "bring checkout back".

The parser cannot know the count from before a scale-down, so it asks (`restore_replicas`); the chat service
answers from the savings ledger: the open saving of that workload says how many replicas it had. The scale
back up goes through the same confirmation and action as any scale, and that action closes the saving.
Without an open saving the question stays, saying why.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from tagent.chat.intent import ChatIntent, ChatParams, Intent
from tagent.chat.intents import TABLE
from tagent.debrief.localtime import stamp
from tagent.model import WorkloadRef
from tagent.store import Store


def restore(store: Store, intent: ChatIntent, tz: tzinfo = UTC) -> ChatIntent:
    """The wake-up as an actionable scale to the count from before the open saving, or the question why not.
    The scale-down's time is told in `tz` (the team's zone) with its abbreviation."""
    target = intent.target
    if target is None or not target.is_workload or not target.name:
        return intent
    ref = WorkloadRef(kind=target.kind.value, namespace=target.namespace, name=target.name)
    open_savings = [s for s in store.savings.list(limit=1000) if s.target.key == ref.key and s.ended_at is None]
    now = f" It runs {intent.current_replicas} now." if intent.current_replicas is not None else ""
    if not open_savings:
        return intent.model_copy(update={"question": f"Tagent has no open record of scaling {target} down, so I do "
                                                     f"not know its count from before. How many replicas should it "
                                                     f"have?{now}"})
    saving = open_savings[0]
    params = ChatParams(replicas=saving.from_replicas)
    when = f"{saving.started_at.astimezone(tz):%Y-%m-%d} {stamp(saving.started_at, tz)}"
    summary = (f"{TABLE.summary(Intent.scale, target, params, intent.current_replicas)}, back to its count from "
               f"before it was {saving.reason or 'scaled down'} at {when} (this ends that saving)")
    return intent.model_copy(update={"question": None, "question_reason": None, "params": params,
                                     "command": TABLE.command(Intent.scale, target, params), "summary": summary,
                                     "notes": [*intent.notes, f"restored from saving {saving.id}"]})
