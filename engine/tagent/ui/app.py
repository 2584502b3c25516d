"""The dashboard's entry point: `streamlit run <this file>` (what `tagent dashboard` runs).

Seven pages (st.navigation), Tagent's logo in the sidebar and as the page icon. A notification links to
`<dashboard>/?incident=<id>`: with that query parameter the Incidents page is the default page, so the
link opens the incident directly.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from tagent.ui.client import ApiClient, ApiError, ApiUnavailable
from tagent.ui.common import ALL_CLUSTERS, CLUSTER_KEY, team_zone, zone_label

# not "pages/": Streamlit would find that directory and show its own file-based navigation for a page
# opened by its URL (/incidents), lower-case file names and no sidebar header, instead of this one
PAGES_DIR = Path(__file__).resolve().parent / "views"
PAGES = (  # file, title, icon, url path
    ("overview.py", "Overview", ":material/dashboard:", "overview"),
    ("services.py", "Services", ":material/dns:", "services"),
    ("incidents.py", "Incidents", ":material/emergency:", "incidents"),
    ("documentation.py", "Documentation", ":material/description:", "documentation"),
    ("rules.py", "Rules", ":material/rule:", "rules"),
    ("chat.py", "Chat", ":material/chat:", "chat"),
    ("debrief.py", "Debrief", ":material/record_voice_over:", "debrief"),
)
STATIC = Path(__file__).resolve().parent / "static"  # the logo (tagent.debrief's avatar face)


def _status() -> None:
    """Where the API is and whether it answers (never the token)."""
    with ApiClient.from_env() as api:
        st.sidebar.caption(f"Engine API: `{api.base_url}`")
        try:
            api.health()
        except (ApiUnavailable, ApiError):
            st.sidebar.error("API unreachable", icon=":material/cloud_off:")
        else:
            st.sidebar.success("API connected", icon=":material/cloud_done:")
            st.sidebar.caption(f"Times in {zone_label(team_zone(api))}")
            _cluster_picker(api)


def _cluster_picker(api: ApiClient) -> None:
    """With several clusters, a picker: the pages then show the picked cluster's records only."""
    try:
        names = [c["name"] for c in api.clusters()]
    except ApiError:  # an engine from before there were several clusters
        return
    if len(names) > 1:
        st.sidebar.selectbox("Cluster", [ALL_CLUSTERS, *names], key=CLUSTER_KEY,
                             help="Incidents, services, decisions and the audit log of this cluster only")


def main() -> None:
    st.set_page_config(page_title="Tagent", page_icon=str(STATIC / "logo.png"), layout="wide")
    st.logo(str(STATIC / "logo.svg"), size="large")
    default = "incidents.py" if st.query_params.get("incident") else "overview.py"
    pages = [st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=path, default=file == default)
             for file, title, icon, path in PAGES]
    nav = st.navigation(pages)
    st.sidebar.markdown("### Tagent")
    _status()
    nav.run()


if __name__ == "__main__":
    main()
