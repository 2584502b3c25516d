"""RED from Prometheus when it has the service's HTTP metrics: the conventional `http_requests_total` (label
`code`) and `http_request_duration_seconds` histogram, per namespace and pod, as tagent.sources.metrics reads
them (the sandbox exposes the same). A service "ns/name" is the pods of workload `name` in namespace `ns`."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from tagent.clients.prometheus import PrometheusClient
from tagent.errors import ExternalError


def selector(service: str) -> str:
    """`{namespace="ns", pod=~"name-<hash>-<id>|name-<ordinal>"}`: the pods of a Deployment, StatefulSet or
    DaemonSet named `name`."""
    namespace, _, name = service.partition("/")
    pod = re.sub(r"([.\\^$|?*+()\[\]{}])", r"\\\\\1", name)
    quoted_ns = namespace.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{namespace="{quoted_ns}", pod=~"{pod}-([a-z0-9]{{5,10}}-)?[a-z0-9]{{5}}|{pod}-[0-9]+"}}'


def red_from_prometheus(prometheus: PrometheusClient, service: str, window_s: float,
                        at: datetime) -> dict[str, Any] | None:
    """The RED answer from Prometheus, or None when it has no request metrics for the service (or fails)."""
    sel, w = selector(service), f"{max(1, int(window_s))}s"
    errors_sel = sel[:-1] + ', code=~"5.."}'
    try:
        rate = _scalar(prometheus, f"sum(rate(http_requests_total{sel}[{w}]))", at)
        if rate is None:
            return None
        failing = _scalar(prometheus, f"sum(rate(http_requests_total{errors_sel}[{w}]))", at) or 0.0
        requests = _scalar(prometheus, f"sum(increase(http_requests_total{sel}[{w}]))", at) or 0.0
        quantiles = {q: _scalar(prometheus, f"histogram_quantile({q}, sum by (le) "
                                f"(rate(http_request_duration_seconds_bucket{sel}[{w}]))) * 1000", at)
                     for q in ("0.5", "0.95", "0.99")}
    except ExternalError:
        return None
    return {"service": service, "window_s": int(window_s), "rate_per_s": rate,
            "error_ratio": failing / rate if rate > 0 else 0.0, "p50_ms": _ms(quantiles["0.5"]),
            "p95_ms": _ms(quantiles["0.95"]), "p99_ms": _ms(quantiles["0.99"]), "requests": round(requests),
            "source": "prometheus"}


def _scalar(prometheus: PrometheusClient, promql: str, at: datetime) -> float | None:
    samples = prometheus.query(promql, at=at)
    values = [s.value for s in samples if not math.isnan(s.value)]
    return values[0] if values else None


def _ms(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else round(value, 3)
