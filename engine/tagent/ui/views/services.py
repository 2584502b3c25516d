"""Services: the auto-discovered inventory with the cloud servers beside it (EC2 instances and Auto Scaling
groups, when the engine watches AWS), and per service one pane: RED numbers (from spans, or Prometheus),
CPU, memory and restarts, the panels of its runtime (from its OpenTelemetry resource, else inferred), pods,
events and recent logs, and its traces with a waterfall. `?service=namespace/name` opens one directly,
`&trace=<id>` one of its traces."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from tagent.ui.charts import RUNTIME_LABEL, Panel, panels_for, runtime_from_resource, series_figure
from tagent.ui.client import ApiClient
from tagent.ui.common import ref_text, run_page, run_zone, when
from tagent.ui.traces import red_section, traces_section

SYSTEM = {"kube-system", "kube-public", "kube-node-lease"}
LOG_HEIGHT = 360
RUNTIME_EXTRAS = {"java", "nodejs", "go", "python"}  # runtimes with panels of their own (api/views/runtime.py)


def _label(w: dict[str, Any]) -> str:
    return f"{ref_text(w['ref'])} ({w['ref']['kind']})"


def _inventory_table(workloads: list[dict[str, Any]]) -> None:
    rows = [{"service": ref_text(w["ref"]), "kind": w["ref"]["kind"], "runtime": RUNTIME_LABEL.get(w["runtime"],
             w["runtime"]), "ready": f"{w['ready_replicas']}/{w['replicas']}",
             "healthy": w["ready_replicas"] >= w["replicas"], "image": ", ".join(w["images"])}
            for w in workloads]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _cloud(api: ApiClient) -> None:
    """The servers and groups of the engine's cloud source; nothing when AWS is not configured."""
    cloud = api.cloud_servers()
    if not cloud.get("configured"):
        return
    st.subheader(f"Cloud servers · AWS {', '.join(cloud['regions'])}")
    currency = cloud.get("currency") or "USD"
    if cloud["servers"]:
        st.dataframe(pd.DataFrame([{
            "server": s["name"] or s["id"], "id": s["id"], "region": s["region"], "state": s["state"],
            "type": s["type"], "CPU % (15 min)": s["cpu_percent"], "group": s["group"] or "",
            f"{currency}/hour": s["hourly_price"]} for s in cloud["servers"]]), hide_index=True, key="cloud-servers")
    else:
        st.caption("No EC2 instances seen yet (the engine lists them every few minutes).")
    if cloud["groups"]:
        st.dataframe(pd.DataFrame([{
            "group": g["name"], "region": g["region"], "desired": g["desired"], "min": g["min"], "max": g["max"],
            "members": g["members"], "at max": g["at_max"]} for g in cloud["groups"]]), hide_index=True,
            key="cloud-groups")


def _charts(runtime: str, metrics: dict[str, Any]) -> None:
    """CPU, memory (and restarts); the traffic panels only from Prometheus: without it the RED numbers above
    come from the spans."""
    series = metrics.get("series") or {}
    from_prometheus = metrics.get("source") == "prometheus"
    panels = [p for p in panels_for(runtime) if from_prometheus or not p.needs_prometheus]
    for start in range(0, len(panels), 2):
        cols = st.columns(2)
        for col, panel in zip(cols, panels[start:start + 2], strict=False):
            points = series.get(panel.metric) or []
            if points:
                col.plotly_chart(series_figure(panel, points, run_zone()), key=f"chart-{panel.metric}")
            else:
                col.info(f"**{panel.title}**: no samples yet (the engine samples every few seconds).")


def _runtime(api: ApiClient, ref: dict[str, Any], inferred: str) -> tuple[str, str]:
    """The runtime the service's spans declare (OpenTelemetry resource), else the inventory's inference."""
    told = runtime_from_resource((api.resource(ref["namespace"], ref["name"]) or {}).get("attributes"))
    if told is not None:
        return told[0], f"from its OpenTelemetry resource ({told[1]})"
    return inferred, "inferred from its image, command and environment"


def _runtime_panels(api: ApiClient, ref: dict[str, Any], runtime: str) -> None:
    if runtime == "unknown":
        st.caption("Runtime unknown: services that send spans through an OpenTelemetry SDK declare it "
                   "(telemetry.sdk.language), and get the panels of their runtime here.")
    if runtime not in RUNTIME_EXTRAS:
        return
    found = api.runtime_metrics(ref["namespace"], ref["name"], runtime)
    st.markdown(f"**{RUNTIME_LABEL.get(runtime, runtime)} runtime**")
    cols = st.columns(2)
    for i, panel in enumerate(found.get("panels") or []):
        col = cols[i % 2]
        if panel["series"]:
            col.plotly_chart(series_figure(Panel(panel["key"], panel["title"], panel["unit"]), panel["series"],
                                           run_zone()), key=f"runtime-{panel['key']}")
        else:
            col.info(f"**{panel['title']}**: {panel['missing']}.")


def _detail(api: ApiClient, workload: dict[str, Any]) -> None:
    ref = workload["ref"]
    detail = api.workload(ref["namespace"], ref["name"], kind=ref["kind"])
    w = detail["workload"]
    runtime, told = _runtime(api, ref, w["runtime"])
    st.subheader(f"{ref_text(ref)} · {RUNTIME_LABEL.get(runtime, runtime)}")
    st.caption(f"Runtime {told}.")
    now = detail["metrics"].get("now") or {}
    cols = st.columns(5)
    cols[0].metric("Ready replicas", f"{w['ready_replicas']}/{w['replicas']}")
    cols[1].metric("Pods", len(detail["pods"]))
    cols[2].metric("CPU now", f"{now['cpu_cores'] * 1000:.0f} m" if now else "n/a")
    cols[3].metric("Memory now", f"{now['memory_bytes'] / 2**20:.0f} MiB" if now else "n/a")
    cols[4].metric("Restarts", sum(p["restarts"] for p in detail["pods"]))
    for problem in detail.get("problems") or []:
        st.warning(problem)
    red_section(api, ref["namespace"], ref["name"])
    charts, side = st.columns([3, 2])
    with charts:
        source = detail["metrics"].get("source", "engine")
        st.caption("Metrics from Prometheus" if source == "prometheus"
                   else "CPU and memory the engine sampled (metrics.k8s.io)")
        _charts(runtime, detail["metrics"])
        _runtime_panels(api, ref, runtime)
    with side:
        st.markdown("**Pods**")
        st.dataframe(pd.DataFrame([{"pod": p["name"], "phase": p["phase"], "ready": p["ready"],
                                    "restarts": p["restarts"], "reason": p["reason"], "node": p["node"]}
                                   for p in detail["pods"]]), hide_index=True)
        st.markdown("**Events**")
        if detail["events"]:
            st.dataframe(pd.DataFrame([{"at": when(e["at"]), "type": e["type"], "reason": e["reason"],
                                        "message": e["message"]} for e in detail["events"]]), hide_index=True)
        else:
            st.caption("No Kubernetes events.")
        st.markdown("**Recent logs**")
        with st.container(height=LOG_HEIGHT):  # the traces below stay in sight
            st.code("\n".join(detail["logs"][-80:]) or "(no log lines)", language=None)
    traces_section(api, ref_text(ref))


def render(api: ApiClient) -> None:
    # system workloads last: people come here for their own services
    workloads = sorted(api.inventory(), key=lambda w: (w["ref"]["namespace"] in SYSTEM, w["ref"]["namespace"],
                                                       w["ref"]["name"]))
    if not workloads:
        st.info("No workloads discovered yet.")
        _cloud(api)
        return
    _inventory_table(workloads)
    _cloud(api)
    labels = [_label(w) for w in workloads]
    wanted = st.query_params.get("service")
    default = next((i for i, w in enumerate(workloads) if ref_text(w["ref"]) == wanted), None)
    if default is None:  # the first unhealthy service, else the first one
        default = next((i for i, w in enumerate(workloads) if w["ready_replicas"] < w["replicas"]), 0)
    choice = st.selectbox("Service", labels, index=default, key="service")
    _detail(api, workloads[labels.index(choice)])


run_page("Services", render)
