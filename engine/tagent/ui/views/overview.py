"""Overview: nodes and workloads healthy, open incidents, day/night mode, today's actions, savings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tagent.ui.charts import health_figure
from tagent.ui.client import ApiClient
from tagent.ui.common import ref_text, run_page, when


def render(api: ApiClient) -> None:
    data = api.overview()
    for problem in data.get("problems") or []:
        st.warning(problem)
    nodes = data.get("nodes")
    workloads = data["workloads"]
    night = data["mode"] == "night"
    cols = st.columns(6)
    cols[0].metric("Mode", "🌙 Night" if night else "☀️ Day",
                   help="Night Mode: when nobody acknowledges in time, Tagent fixes it itself")
    cols[1].metric("Nodes ready", f"{nodes['ready']}/{nodes['total']}" if nodes else "unknown")
    cols[2].metric("Workloads healthy", f"{workloads['healthy']}/{workloads['total']}")
    cols[3].metric("Open incidents", data["open_incidents"])
    cols[4].metric("Actions today", data["actions_today"])
    cols[5].metric("Replica-hours saved", f"{data['replica_hours_saved']:.1f}")

    left, right = st.columns(2)
    if nodes:
        left.plotly_chart(health_figure(nodes["ready"], nodes["total"] - nodes["ready"], "Nodes"),
                          key="nodes_chart")
    right.plotly_chart(health_figure(workloads["healthy"], workloads["total"] - workloads["healthy"], "Workloads"),
                       key="workloads_chart")
    if workloads.get("unhealthy"):
        st.subheader("Unhealthy workloads")
        st.markdown("\n".join(f"- `{ref_text(r)}` ({r['kind']})" for r in workloads["unhealthy"]))

    st.subheader("Recent incidents")
    incidents = api.incidents(limit=10)
    if incidents:
        st.dataframe(pd.DataFrame([{"opened": when(i["opened_at"]), "status": i["status"],
                                    "severity": i["severity"], "rule": i["rule"], "target": ref_text(i["target"]),
                                    "id": i["id"]} for i in incidents]), hide_index=True)
    else:
        st.info("No incidents. Tagent is watching.")

    st.subheader("Latest decisions")
    decisions = api.decisions(limit=10)
    if decisions:
        st.dataframe(pd.DataFrame([{"at": when(d["at"]), "rule": d["rule"], "target": ref_text(d["target"]),
                                    "allowed": d["allowed"], "reason": d["reason"], "mode": d["mode"]}
                                   for d in decisions]), hide_index=True)
    else:
        st.caption("No rule has matched yet.")
    engine = data.get("engine") or {}
    st.caption(f"Rules version `{data.get('rules_version') or 'none'}` · engine started "
               f"{when(engine.get('started_at'))} · {engine.get('events_seen', 0)} events seen · "
               f"updated {when(data.get('at'))}")


run_page("Overview", render)
