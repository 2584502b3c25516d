"""Acceptance: with the local LLM server an incident's post-mortem gets its AI explanation section, after
the deterministic facts; without an LLM (or when it fails) the facts stand alone and the section says so."""

from __future__ import annotations

from pydantic import SecretStr

from tagent.debrief.explained import postmortem_with_explanation
from tagent.debrief.postmortem import render_postmortem
from tagent.llm import LLMClient, Redactor
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.drafts.conftest import API_KEY, Replay, cart_incident

HEADING = "## AI explanation (written by sandbox-model, may be wrong)"


def client_for(server: OpenAIReceiver) -> LLMClient:
    client = LLMClient.from_settings(Settings(llm_base_url=server.api_base, llm_api_key=SecretStr(API_KEY),
                                              llm_model="sandbox-model", llm_max_retries=0))
    assert client is not None
    return client


def test_the_post_mortem_holds_the_facts_then_the_marked_explanation(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = replay = Replay.of("explain")
    incident, evidence = cart_incident()
    markdown = postmortem_with_explanation(incident, evidence, client_for(llm_server))

    facts = render_postmortem(incident, Redactor())
    assert markdown.startswith(facts.rstrip() + "\n\n" + HEADING + "\n")
    assert markdown.index("## Follow-ups") < markdown.index(HEADING)
    for section in ("### Likely cause", "### Evidence", "### What was done", "### What to change"):
        assert section in markdown.split(HEADING)[1]
    assert "leaks Redis connections" in markdown
    # the explanation was asked with the incident's facts and evidence as fenced data
    [body] = replay.bodies
    user = body["messages"][1]["content"]
    assert "| rule: cart-error-rate (rules version 3f2c1ab)" in user
    assert "ERR max number of clients reached" in user and "error_rate = 0.31" in user


def test_without_an_llm_the_deterministic_post_mortem_stands_alone() -> None:
    incident, evidence = cart_incident()
    markdown = postmortem_with_explanation(incident, evidence, None)
    assert markdown.startswith("# Post-mortem: cart-error-rate on shop/cart")
    assert markdown.rstrip().endswith("## AI explanation\n\nNo LLM is configured (set `llm_base_url` or "
                                      "`llm_api_key`), so there is no AI explanation. The facts above are the "
                                      "complete record.")


def test_an_llm_failure_is_written_into_the_section(llm_server: OpenAIReceiver) -> None:
    llm_server.fail_next(3, status=500)
    incident, evidence = cart_incident()
    markdown = postmortem_with_explanation(incident, evidence, client_for(llm_server))
    assert "## What Tagent did" in markdown
    assert f"{HEADING.split(' (')[0]} (written by sandbox-model, may be wrong)\n\nThe explanation could not be " \
           "written: LLM at" in markdown
