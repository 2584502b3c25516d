"""Chat: operate the cluster in plain English. Reads are answered at once; a change is shown with its
kubectl equivalent and runs only after you confirm it (a delete also asks you to type the name)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from tagent.ui.client import ApiClient
from tagent.ui.common import run_page

HISTORY = "chat_history"
PENDING = "chat_pending"  # the reply waiting for confirmation (its one-time token stays server-side)


def _say(role: str, text: str, command: str | None = None) -> None:
    st.session_state[HISTORY].append({"role": role, "text": text, "command": command})


def _pending(api: ApiClient) -> None:
    reply: dict[str, Any] | None = st.session_state.get(PENDING)
    if reply is None:
        return
    with st.container(border=True):
        st.markdown(f"**Confirm:** {reply['answer']}")
        if reply["intent"].get("command"):
            st.code(reply["intent"]["command"], language="bash")
        typed = ""
        if reply.get("confirm_name"):
            typed = st.text_input(f"Type `{reply['confirm_name']}` to confirm", key="chat_typed")
        yes, no = st.columns(2)
        if yes.button("Confirm", key="chat_confirm", type="primary"):
            result = api.confirm(reply["token"], typed)
            st.session_state.pop(PENDING, None)
            _say("assistant", f"{result['answer']} ({result['status']})", result.get("command"))
            st.rerun()
        if no.button("Cancel", key="chat_cancel"):
            result = api.decline(reply["token"])
            st.session_state.pop(PENDING, None)
            _say("assistant", result["answer"])
            st.rerun()


def render(api: ApiClient) -> None:
    st.session_state.setdefault(HISTORY, [])
    api.health()  # an unreachable API shows its banner before anyone types
    st.caption('Try: "how many servers are running?", "show me the logs of cart", "scale checkout to 3 replicas".')
    for message in st.session_state[HISTORY]:
        with st.chat_message(message["role"]):
            st.markdown(message["text"])
            if message.get("command"):
                st.code(message["command"], language="bash")
    _pending(api)
    text = st.chat_input("Ask Tagent", key="chat_text")
    if not text:
        return
    _say("user", text)
    reply = api.chat(text)
    if reply["status"] == "confirm" and reply.get("token"):
        st.session_state[PENDING] = reply
    else:
        _say("assistant", reply["answer"], reply["intent"].get("command"))
    st.rerun()


run_page("Chat", render)
