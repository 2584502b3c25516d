"""Documentation: every post-mortem Tagent wrote, searchable, readable here, downloadable as Markdown."""

from __future__ import annotations

import streamlit as st

from tagent.ui.client import ApiClient
from tagent.ui.common import run_page, when


def render(api: ApiClient) -> None:
    query = st.text_input("Search post-mortems", key="pm_query", placeholder="a service, a rule, a word...")
    found = api.postmortems(query or None)
    if not found:
        st.info("No post-mortem matches." if query else "No post-mortems yet: Tagent writes one per incident.")
        return
    labels = {p["incident_id"]: f"{p['title'] or p['incident_id']} · {when(p['created_at'])}" for p in found}
    chosen = st.selectbox(f"{len(found)} post-mortem(s)", list(labels), format_func=lambda i: labels[i],
                          key="pm_pick")
    markdown = api.postmortem_markdown(chosen)
    st.download_button("Download as Markdown", data=markdown, file_name=f"postmortem-{chosen}.md",
                       mime="text/markdown", key="pm_download", icon=":material/download:")
    st.divider()
    st.markdown(markdown)


run_page("Documentation", render)
