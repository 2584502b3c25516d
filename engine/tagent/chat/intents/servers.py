"""The intents of cloud servers only: stop and start an EC2 instance (tagent.chat.cloud parses them against the
cloud inventory; restart and scale have their server verbs in their own entries). They have no Kubernetes cues
and no LLM tool: the fallback reads workloads and never proposes them."""

from __future__ import annotations

from tagent.chat.intents.spec import IntentSpec, ServerVerb

STOP = IntentSpec(name="stop", verb="stop", takes="server", mutating=True, server=ServerVerb(
    r"\b(?:stop|shut ?down|power ?off|turn off|halt)\b", "aws.ec2_stop", "stop", rank=1))
START = IntentSpec(name="start", verb="start", takes="server", mutating=True,
                   server=ServerVerb(r"\b(?:start|power ?on|turn on|boot|wake up)\b", "aws.ec2_start", "start", rank=2))
