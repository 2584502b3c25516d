"""The incident page's "Draft a playbook (LLM)" button: the engine's LLM drafts a Rule + Playbook, proposed
as a branch of the rules repository (and a pull request). Nothing becomes active until a person merges it.

The outcome survives the rerun in the session: the branch and the pull request link, or the problems of a
draft that did not validate. When the API answers 409 (no LLM, or the rules are not a Git repository) the
button stays disabled for the session with that sentence as its explanation.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from tagent.ui.client import ApiClient, ApiError

UNAVAILABLE = "drafts_unavailable"
RESULT = "draft_result"  # (incident id, proposal JSON or an error sentence)


def _request(api: ApiClient, incident_id: str) -> None:
    with st.spinner("The LLM is drafting a rule and a playbook; Tagent validates and pushes it…"):
        try:
            st.session_state[RESULT] = (incident_id, api.draft_playbook(incident_id))
        except ApiError as exc:
            if exc.status == 409:
                st.session_state[UNAVAILABLE] = exc.detail
            else:
                st.session_state[RESULT] = (incident_id, f"Drafting failed: {exc.detail}")
    st.rerun()


def _show(proposal: dict[str, Any] | str) -> None:
    if isinstance(proposal, str):
        st.error(proposal)
        return
    if proposal["status"] != "proposed":
        st.error(f"The draft is invalid after {proposal['attempts']} attempt(s); nothing was pushed.\n\n"
                 + "\n".join(f"- `{p}`" for p in proposal["problems"]))
        return
    names = ", ".join(f"{kind} **{name}**" for kind, name in proposal["names"])
    st.success(f"Proposed {names} on branch `{proposal['branch']}` (based on `{proposal['base']}`).")
    if proposal.get("pull_request_url"):
        st.markdown(f"Review and merge it: [pull request]({proposal['pull_request_url']})")
    else:
        reason = f" ({proposal['forge_error']})" if proposal.get("forge_error") else ""
        st.caption(f"No pull request{reason}: open one from `{proposal['branch']}` to `{proposal['base']}` to "
                   f"approve it. Summary: `{proposal['description_file']}`")


def draft_section(api: ApiClient, incident: dict[str, Any]) -> None:
    st.markdown("#### Draft a playbook")
    unavailable = st.session_state.get(UNAVAILABLE)
    if st.button("Draft a playbook (LLM)", key="draft", disabled=bool(unavailable),
                 help=unavailable or "The LLM drafts a Rule + Playbook for incidents like this one; it becomes a "
                                     "branch (and pull request) of the rules repository, active only once merged"):
        _request(api, incident["id"])
    if unavailable:
        st.caption(unavailable)
    result = st.session_state.get(RESULT)
    if result and result[0] == incident["id"]:
        _show(result[1])
