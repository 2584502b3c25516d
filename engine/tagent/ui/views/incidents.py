"""Incidents: the list with filters, and one incident with its timeline, what Tagent did and proposes,
and the approve / deny / acknowledge buttons, the traces of its window (errors first, each opening its
waterfall on the Services page), and drafting a playbook with the LLM.
`?incident=<id>` (the notification links) opens one."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from tagent.ui.charts import timeline_figure
from tagent.ui.client import ApiClient, ApiError
from tagent.ui.common import flash, ref_text, run_page, run_zone, when
from tagent.ui.drafts import draft_section

STATUSES = ["open", "mitigating", "awaiting_ack", "resolved", "failed"]
SEVERITIES = ["critical", "warning", "info"]
CLOSED = {"resolved", "failed", "superseded"}
TRACE_LINKS = 10


def _act(label: str, call: Any, *args: Any) -> None:
    try:
        call(*args)
    except ApiError as exc:
        st.session_state["incident_flash"] = ("error", f"{label} failed: {exc.detail}")
    else:
        st.session_state["incident_flash"] = ("ok", f"{label}: done.")
    st.rerun()


def _buttons(api: ApiClient, incident: dict[str, Any]) -> None:
    who = st.text_input("Your name (shown in the timeline)", value="dashboard", key="actor")
    proposal = incident.get("proposal")
    cols = st.columns(3)
    if cols[0].button("Acknowledge", key="ack", disabled=bool(incident.get("acknowledged_at"))
                      or incident["status"] in CLOSED, help="I have it: stop escalating"):
        _act("Acknowledge", api.acknowledge, incident["id"], who)
    if cols[1].button("Approve", key="approve", type="primary", disabled=proposal is None,
                      help="Run the proposed playbook now (through the guard)"):
        _act("Approve", api.approve, incident["id"], who)
    reason = st.text_input("Reason to deny", key="deny_reason", disabled=proposal is None)
    if cols[2].button("Deny", key="deny", disabled=proposal is None, help="Do not run the proposed playbook"):
        _act("Deny", api.deny, incident["id"], who, reason)


def _did(incident: dict[str, Any]) -> None:
    st.markdown("#### What Tagent did")
    if not incident["runs"]:
        st.caption("No playbook has run for this incident.")
    for run in incident["runs"]:
        st.markdown(f"Playbook **{run['playbook']}**: {run['status']} ({when(run['started_at'])})")
        if run["steps"]:
            st.dataframe(pd.DataFrame([{"step": s["name"], "action": s["action"], "status": s["status"],
                                        "detail": s["detail"], "command": s["command"]} for s in run["steps"]]),
                         hide_index=True)


def _proposes(incident: dict[str, Any]) -> None:
    st.markdown("#### What Tagent proposes")
    proposal = incident.get("proposal")
    if proposal is None:
        st.caption("Nothing waits for approval.")
        return
    st.warning(f"**{proposal['summary'] or proposal['action']}** on `{proposal['target']}`, waiting for approval"
               f" (expires {when(proposal['expires_at'])}).")
    if proposal["steps"]:
        st.dataframe(pd.DataFrame([{"step": s["name"], "action": s["action"], "with": str(s["with"])}
                                   for s in proposal["steps"]]), hide_index=True)


def _traces(api: ApiClient, incident: dict[str, Any]) -> None:
    """The traces of the incident's service in its window, errors first; each link opens its waterfall on
    the Services page."""
    st.markdown("#### Traces")
    try:
        found = api.incident_traces(incident["id"], limit=TRACE_LINKS)
    except ApiError as exc:
        if exc.status in (404, 405, 503):
            st.caption(f"No traces: {exc.detail}")
            return
        raise
    traces = found.get("traces") or []
    window = f"{when(found.get('since'))} to {when(found.get('until'))}"
    if not traces:
        st.caption(f"No trace of {found.get('service') or ref_text(incident['target'])} was recorded from "
                   f"{window}.")
        return
    errors = sum(1 for t in traces if t["error"])
    st.caption(f"{len(traces)} traces of {found['service']} from {window}, {errors} with errors (listed first).")
    for t in traces:
        label = (f"{'✖ ' if t['error'] else ''}{when(t['start'])} · {t['root_service']} {t['root_name']} · "
                 f"{float(t['duration_ms']):.1f} ms · {len(t['services'])} services")
        st.page_link("views/services.py", label=label, icon=":material/timeline:",
                     query_params={"service": found["service"], "trace": t["trace_id"]})


def _detail(api: ApiClient, incident_id: str) -> None:
    incident = api.incident(incident_id)
    st.subheader(f"{incident['rule']} on {ref_text(incident['target'])}")
    cols = st.columns(4)
    cols[0].metric("Status", incident["status"])
    cols[1].metric("Severity", incident["severity"])
    cols[2].metric("Opened", when(incident["opened_at"]).split(" ", 1)[-1])  # the local time with its zone
    cols[3].metric("Acknowledged", "yes" if incident.get("acknowledged_at") else "no")
    st.caption(f"Incident `{incident['id']}` · rules version `{incident['rules_version'] or '-'}`"
               + (" · post-mortem on the Documentation page" if incident.get("has_postmortem") else ""))
    _buttons(api, incident)
    st.markdown("#### Timeline")
    timeline = incident["timeline"]
    if timeline:
        st.plotly_chart(timeline_figure(timeline, run_zone()), key="timeline")
        st.dataframe(pd.DataFrame([{"at": when(e["at"]), "kind": e["kind"], "summary": e["summary"]}
                                   for e in timeline]), hide_index=True)
    left, right = st.columns(2)
    with left:
        _did(incident)
    with right:
        _proposes(incident)
    _traces(api, incident)
    draft_section(api, incident)


def render(api: ApiClient) -> None:
    flash("incident_flash")
    f1, f2, f3 = st.columns([2, 2, 1])
    status = f1.selectbox("Status", ["any", *STATUSES], key="f_status")
    severity = f2.selectbox("Severity", ["any", *SEVERITIES], key="f_severity")
    limit = int(f3.number_input("Show", min_value=5, max_value=500, value=50, step=5, key="f_limit"))
    incidents = api.incidents(status=None if status == "any" else status,
                              severity=None if severity == "any" else severity, limit=limit)
    wanted = st.query_params.get("incident")
    if incidents:
        st.dataframe(pd.DataFrame([{"opened": when(i["opened_at"]), "status": i["status"],
                                    "severity": i["severity"], "rule": i["rule"], "target": ref_text(i["target"]),
                                    "id": i["id"]} for i in incidents]), hide_index=True)
    elif not wanted:
        st.info("No incidents match these filters.")
        return
    ids = [i["id"] for i in incidents]
    if wanted and wanted not in ids:
        ids.insert(0, wanted)
    labels = {i["id"]: f"{i['id']} · {i['rule']} on {ref_text(i['target'])} ({i['status']})" for i in incidents}
    chosen = st.selectbox("Incident", ids, index=ids.index(wanted) if wanted in ids else 0,
                          format_func=lambda i: labels.get(i, i), key="incident_pick")
    if chosen != wanted:
        st.query_params["incident"] = chosen
    _detail(api, chosen)


run_page("Incidents", render)
