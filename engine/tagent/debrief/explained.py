"""The post-mortem with its AI explanation: the deterministic facts first, then the marked LLM section.

The facts never depend on the LLM: `render_postmortem` writes them from the timeline alone; the
explanation (tagent.llm.explain) is appended under its own heading that names the model and says it may
be wrong, or says that no LLM is configured, or why the explanation could not be written. The same
redactor masks both parts, so a secret in the timeline reaches neither the LLM nor the document.
"""

from __future__ import annotations

from tagent.debrief.postmortem import render_postmortem
from tagent.llm.client import LLMClient
from tagent.llm.explain import Evidence, Explanation, explain_incident
from tagent.llm.redact import Redactor
from tagent.model.core import Incident


def postmortem_with_explanation(incident: Incident, evidence: Evidence | None = None,
                                client: LLMClient | None = None, *,
                                redactor: Redactor | None = None) -> str:
    """The whole post-mortem Markdown, explanation section last. `client=None`: no LLM configured.
    `redactor` defaults to the client's (settings secrets + patterns), else a pattern-only one."""
    redact = redactor or (client.redactor if client is not None else Redactor())
    facts = render_postmortem(incident, redact)
    explanation = explain_incident(incident, evidence or Evidence.from_incident(incident), client)
    return append_explanation(facts, explanation)


def append_explanation(postmortem: str, explanation: Explanation) -> str:
    """A rendered post-mortem with the explanation section after the facts."""
    return f"{postmortem.rstrip()}\n\n{explanation.markdown.rstrip()}\n"
