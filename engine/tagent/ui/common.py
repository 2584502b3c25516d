"""What every page shares: the API client, the banner when the API is unreachable, small formatters.

A page is a `render(api)` function run by `run_page`: an unreachable API or an API error becomes a clear
banner, never a blank page or a traceback. With auto-refresh on, the page re-renders every few seconds
as a Streamlit fragment, so a new incident shows up without a click.

Every time a page shows is the team's local time with its zone ("2026-11-26 07:30:03 IST"): the zone is the
escalation policy's, as the engine tells it in `GET /api/v1/debrief` (`timezone`), asked once per
`ZONE_TTL` seconds per API and kept for the run in the session, where `when` finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from tagent.ui.client import ApiClient, ApiError, ApiUnavailable

Render = Callable[[ApiClient], None]
REFRESH_SECONDS = 10
UNREACHABLE = "The Tagent API is unreachable"
ZONE_TTL = 300
ZONE_KEY = "team_zone"
CLUSTER_KEY = "cluster"
ALL_CLUSTERS = "All clusters"


def unreachable_banner(reason: str) -> None:
    st.error(f"**{UNREACHABLE}.** {reason}. Start the engine (`tagent run` or `tagent demo`) or point the "
             "dashboard at it with `tagent dashboard --api URL`; this page retries on every refresh.", icon="🔌")


@st.cache_data(ttl=ZONE_TTL, show_spinner=False)
def _zone_name(base_url: str, _api: ApiClient) -> str | None:
    """The engine's team zone name (cached per API URL); None from an engine without the debrief API."""
    try:
        return str(_api.get("/api/v1/debrief", since="1s").get("timezone") or "") or None
    except ApiError:
        return None


def team_zone(api: ApiClient) -> tzinfo:
    """The escalation policy's zone as the engine tells it; UTC when it tells none (or one unknown here)."""
    name = _zone_name(api.base_url, api)
    try:
        zone: tzinfo = ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    st.session_state[ZONE_KEY] = zone
    return zone


def run_zone() -> tzinfo:
    """The team's zone of this run (set by `team_zone` before a page renders), else UTC."""
    found = st.session_state.get(ZONE_KEY)
    return found if isinstance(found, tzinfo) else UTC


def zone_label(zone: tzinfo) -> str:
    """'Asia/Kolkata (IST)', or 'UTC'."""
    key, short = str(getattr(zone, "key", zone)), _abbreviation(datetime.now(UTC).astimezone(zone))
    return key if key == short else f"{key} ({short})"


def picked_cluster() -> str | None:
    """The cluster picked in the sidebar (tagent.ui.app), None for every cluster."""
    value = st.session_state.get(CLUSTER_KEY)
    return str(value) if value and value != ALL_CLUSTERS else None


def _render(render: Render) -> None:
    with ApiClient.from_env() as api:
        api.cluster = picked_cluster()
        try:
            team_zone(api)  # every `when` of this run shows the team's time
            render(api)
        except ApiUnavailable as exc:
            unreachable_banner(str(exc))
        except ApiError as exc:
            st.error(f"The Tagent API answered with an error: {exc.detail}", icon="⚠️")


def run_page(title: str, render: Render) -> None:
    st.title(title)
    if st.sidebar.toggle(f"Auto-refresh ({REFRESH_SECONDS} s)", key="auto_refresh"):
        st.fragment(run_every=REFRESH_SECONDS)(_render)(render)
    else:
        _render(render)


def flash(key: str) -> None:
    """Show (once) the outcome a button stored before its rerun."""
    message = st.session_state.pop(key, None)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)(text)


def _abbreviation(local: datetime) -> str:
    name = local.tzname() or "UTC"
    return "UTC" if name in ("UTC", "+00") else name


def when(value: Any, tz: tzinfo | None = None) -> str:
    """An API timestamp as `YYYY-MM-DD HH:MM:SS IST` in `tz`, by default the team's zone of this run
    (`team_zone`), else UTC; `-` for none."""
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(tz or run_zone())
    return f"{local:%Y-%m-%d %H:%M:%S} {_abbreviation(local)}"


def ref_text(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "-"
    ns = ref.get("namespace") or ""
    text = f"{ns}/{ref.get('name', '')}" if ns else str(ref.get("name", ""))
    return f"{text} ({ref['cluster']})" if ref.get("cluster") else text  # a remote cluster's: named


def query_param(name: str) -> str | None:
    value = st.query_params.get(name)
    return str(value) if value else None
