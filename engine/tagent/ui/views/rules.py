"""Rules: the active version and its SHA, rules, playbooks and policies, the last rejected version with its
errors, and a dry-run of any rule against a sample event (nothing runs)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from tagent.ui.client import ApiClient, ApiError
from tagent.ui.common import run_page, when

CUSTOM = "(paste a Rule in YAML)"


def _rejected(data: dict[str, Any]) -> None:
    rejected = data.get("last_rejected")
    if not rejected:
        st.success("No rejected version: every version pushed so far validated.")
        return
    newer = data.get("active") is None or rejected["at"] > str(data["active"]["activated_at"])
    text = (f"**Last rejected version `{rejected['sha'][:16]}`** by {rejected['author'] or 'unknown'} at "
            f"{when(rejected['at'])}" + (" (newer than the active one: it did not activate)" if newer else ""))
    st.error(text + "\n\n" + "\n".join(f"- `{p}`" for p in rejected["problems"][:20]))


def _dry_run(api: ApiClient, names: list[str]) -> None:
    choice = st.selectbox("Rule", [*names, CUSTOM], key="dry_rule")
    if choice == CUSTOM:
        rule = st.text_area("Rule YAML", height=220, key="dry_yaml",
                            placeholder="apiVersion: tagent.io/v1\nkind: Rule\nmetadata: {name: my-rule}\nspec: ...")
        sample: list[dict[str, Any]] = [{"source": "kubernetes", "kind": "PodState", "reason": "CrashLoopBackOff",
                                         "target": {"kind": "Deployment", "namespace": "default", "name": "app"}}]
    else:
        rule = choice
        sample = api.sample_events(choice)
    events_key = f"dry_events_{choice}"
    if events_key not in st.session_state:
        st.session_state[events_key] = json.dumps(sample, indent=2)
    events_text = st.text_area("Sample event(s), JSON: one Event or a list processed in order", height=260,
                               key=events_key)
    if not st.button("Dry-run", key="dry_go", type="primary"):
        return
    try:
        events = json.loads(events_text)
    except json.JSONDecodeError as exc:
        st.error(f"The events are not valid JSON: line {exc.lineno}: {exc.msg}")
        return
    try:
        result = api.test_rule(rule or "", events)
    except ApiError as exc:
        st.error(f"Dry-run refused: {exc.detail}")
        return
    if not result["fires"]:
        st.warning("The rule does **not** fire on these events.")
        return
    for d in result["decisions"]:
        target = d["target"]
        st.success(f"**{d['rule']}** fires on {target['kind']} {target['namespace']}/{target['name']}: "
                   f"playbook `{d['playbook'] or 'none (notify only)'}`, mode {d['mode']}, severity {d['severity']}")
        if d.get("steps"):
            st.dataframe(pd.DataFrame([{"step": s["name"], "action": s["action"],
                                        "with": s.get("error") or json.dumps(s.get("with"))} for s in d["steps"]]),
                         hide_index=True)
        guard = d.get("guard") or {}
        if guard.get("cooldown_until"):
            st.info(f"The guard would refuse it now: cooldown until {when(guard['cooldown_until'])}.")
        if guard.get("maintenance_window"):
            st.info(f"Inside maintenance window {guard['maintenance_window']}: notify only.")


def render(api: ApiClient) -> None:
    data = api.rules()
    active = data.get("active")
    cols = st.columns([3, 2, 1])
    cols[0].metric("Active version", (active["sha"][:23] if active else "none"))
    cols[1].metric("Activated", when(active["activated_at"]) if active else "-")
    if cols[2].button("Poll now", key="reload", help="Check the rules source for a new version now"):
        api.reload_rules()
        st.toast("The rules source will be polled now.")
    source = data["source"]
    st.caption(f"Source: `{source['location']}`" + (f" (branch {source['branch']})" if source["git"] else "")
               + (f" · author {active['author']}" if active and active["author"] else ""))
    _rejected(data)
    tabs = st.tabs(["Rules", "Playbooks", "Policies", "History", "Dry-run"])
    with tabs[0]:
        st.dataframe(pd.DataFrame([{"rule": r["name"], "enabled": r["enabled"], "severity": r["severity"],
                                    "when": ", ".join(r["conditions"]), "playbook": r["playbook"] or "-",
                                    "mode": r["mode"], "file": r["origin"]} for r in data["rules"]]),
                     hide_index=True)
        for r in data["rules"]:
            with st.expander(f"{r['name']}: {r['description']}"):
                st.code(yaml.safe_dump(r["spec"], sort_keys=False), language="yaml")
    with tabs[1]:
        for b in data["playbooks"]:
            with st.expander(f"{b['name']}: {' → '.join(b['steps'])}"):
                st.caption(b["description"] + f" ({b['origin']})")
                st.code(yaml.safe_dump(b["spec"], sort_keys=False), language="yaml")
    with tabs[2]:
        for p in data["policies"]:
            st.markdown(f"**{p['name']}** ({p['origin']})")
            st.code(yaml.safe_dump(p["spec"], sort_keys=False), language="yaml")
    with tabs[3]:
        st.dataframe(pd.DataFrame([{"at": when(h["at"]), "sha": h["sha"], "status": h["status"],
                                    "author": h["author"], "problems": len(h["problems"])}
                                   for h in data["history"]]), hide_index=True)
    with tabs[4]:
        _dry_run(api, [r["name"] for r in data["rules"]])


run_page("Rules", render)
