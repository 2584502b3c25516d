"""The waterfall of one trace: a horizontal bar per span, from its offset to the trace's start for its duration,
colored by service, error spans outlined in red and marked "✖", children under their parent (marked "↳").

Pure functions of the API's trace (`GET /api/v1/traces/{id}`), so they are tested without Streamlit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, tzinfo
from typing import Any

import plotly.graph_objects as go

# colorblind-friendly, distinct; a service keeps its color for the whole figure
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
ERROR_RED = "#d62728"


def parse_time(value: Any) -> datetime | None:
    """An API timestamp (ISO 8601, `Z` or offset) as an aware datetime; None when it is not one."""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def ordered(spans: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, span) depth-first from the roots, siblings by start; a span whose parent is not in the trace
    counts as a root (a collector may drop spans), and nothing is lost to a cycle."""
    ids = {s.get("span_id") for s in spans}
    children: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    roots: list[dict[str, Any]] = []
    for s in spans:
        parent = s.get("parent_span_id")
        (children[parent] if parent and parent in ids and parent != s.get("span_id") else roots).append(s)

    def start(s: dict[str, Any]) -> float:
        at = parse_time(s.get("start"))
        return at.timestamp() if at is not None else 0.0

    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    stack = [(0, s) for s in sorted(roots, key=start, reverse=True)]
    while stack:
        depth, span = stack.pop()
        if id(span) in seen:
            continue
        seen.add(id(span))
        out.append((depth, span))
        stack.extend((depth + 1, c) for c in sorted(children.get(span.get("span_id"), []), key=start, reverse=True))
    out.extend((0, s) for s in spans if id(s) not in seen)  # only a parent cycle leaves any
    return out


def service_colors(spans: list[dict[str, Any]]) -> dict[str, str]:
    names = sorted({str(s.get("service") or "?") for s in spans})
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def bars(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per span in waterfall order: label, service, offset_ms, duration_ms, error."""
    spans = list(trace.get("spans") or [])
    starts = [t for t in (parse_time(s.get("start")) for s in spans) if t is not None]
    origin = min(starts) if starts else None
    rows = []
    for depth, s in ordered(spans):
        at = parse_time(s.get("start"))
        offset = (at - origin).total_seconds() * 1000 if at is not None and origin is not None else 0.0
        service = str(s.get("service") or "?")
        status = s.get("http_status")
        rows.append({"label": f"{'↳ ' if depth else ''}{service} · {s.get('name') or '?'}", "service": service,
                     "offset_ms": round(offset, 3), "duration_ms": float(s.get("duration_ms") or 0.0),
                     "error": s.get("status") == "error", "http_status": status, "name": s.get("name") or "",
                     "span_id": s.get("span_id") or ""})
    return rows


def _zone(local: datetime) -> str:
    name = local.tzname() or "UTC"
    return "UTC" if name in ("UTC", "+00") else name


def waterfall_figure(trace: dict[str, Any], tz: tzinfo = UTC) -> go.Figure:
    """Plotly horizontal bars, one legend entry per service; the title gives the trace's start in `tz`."""
    rows = bars(trace)
    colors = service_colors(list(trace.get("spans") or []))
    fig = go.Figure()
    for service, color in colors.items():
        mine = [(i, r) for i, r in enumerate(rows) if r["service"] == service]
        fig.add_trace(go.Bar(
            name=service, orientation="h", y=[i for i, _ in mine], x=[max(r["duration_ms"], 0.01) for _, r in mine],
            base=[r["offset_ms"] for _, r in mine],
            marker={"color": color, "line": {"color": [ERROR_RED if r["error"] else color for _, r in mine],
                                             "width": [3 if r["error"] else 0 for _, r in mine]}},
            text=[("✖ " if r["error"] else "") + f"{r['duration_ms']:.1f} ms" for _, r in mine],
            textposition="outside", cliponaxis=False,
            customdata=[[r["name"], r["http_status"] or "", "error" if r["error"] else "ok"] for _, r in mine],
            hovertemplate=(f"<b>{service}</b> %{{customdata[0]}}<br>start +%{{base:.1f}} ms, %{{x:.1f}} ms"
                           "<br>status %{customdata[2]} %{customdata[1]}<extra></extra>")))
    starts = [t for t in (parse_time(s.get("start")) for s in trace.get("spans") or []) if t is not None]
    began = min(starts).astimezone(tz) if starts else None
    title = f"Trace {str(trace.get('trace_id', ''))[:16]}" + (
        f" · started {began:%Y-%m-%d %H:%M:%S} {_zone(began)}" if began else "")
    end = max((r["offset_ms"] + r["duration_ms"] for r in rows), default=1.0)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}}, barmode="overlay", height=140 + 28 * max(1, len(rows)),
        margin={"l": 10, "r": 60, "t": 40, "b": 80},  # the legend sits under the axis title, never on it
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
        xaxis={"title": {"text": "ms from the trace's start", "font": {"size": 11}}, "range": [0, end * 1.15]},
        yaxis={"tickvals": list(range(len(rows))), "ticktext": [r["label"] for r in rows], "autorange": "reversed"})
    return fig
