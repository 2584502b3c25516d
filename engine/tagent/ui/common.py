"""What every page shares: the API client, the banner when the API is unreachable, small formatters.

A page is a `render(api)` function run by `run_page`: an unreachable API or an API error becomes a clear
banner, never a blank page or a traceback. With auto-refresh on, the page re-renders every few seconds
as a Streamlit fragment, so a new incident shows up without a click.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from tagent.ui.client import ApiClient, ApiError, ApiUnavailable

Render = Callable[[ApiClient], None]
REFRESH_SECONDS = 10
UNREACHABLE = "The Tagent API is unreachable"


def unreachable_banner(reason: str) -> None:
    st.error(f"**{UNREACHABLE}.** {reason}. Start the engine (`tagent run` or `tagent demo`) or point the "
             "dashboard at it with `tagent dashboard --api URL`; this page retries on every refresh.", icon="🔌")


def _render(render: Render) -> None:
    with ApiClient.from_env() as api:
        try:
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


def when(value: Any) -> str:
    """An API timestamp as `YYYY-MM-DD HH:MM:SS UTC` (and `-` for none)."""
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ref_text(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "-"
    ns = ref.get("namespace") or ""
    return f"{ns}/{ref.get('name', '')}" if ns else str(ref.get("name", ""))


def query_param(name: str) -> str | None:
    value = st.query_params.get(name)
    return str(value) if value else None
