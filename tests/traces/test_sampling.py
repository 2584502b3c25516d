"""Sampled spans stand for the requests they were sampled from: a span whose trace state carries
OpenTelemetry's probability-sampling threshold (`ot=th:<hex>`, as the sandbox's sampler writes it) weighs
1/p in the rate, the error ratio and the request count; percentiles stay those of the sampled durations."""

from __future__ import annotations

import random

import pytest

from tagent.sandbox.tracing import threshold
from tagent.store import Store
from tagent.traces.otlp import Sanitizer, decode, sampling_weight
from tests.traces.conftest import MakeTraces
from tests.traces.otlp import SERVER, S, request
from tests.traces.test_store import NOW, NOW_NS


@pytest.mark.parametrize("probability", [1.0, 0.5, 0.25, 0.1, 1 / 3, 0.01])
def test_the_weight_is_one_over_the_probability_the_sampler_wrote(probability: float) -> None:
    assert sampling_weight(f"ot=th:{threshold(probability)}") == pytest.approx(1 / probability, rel=1e-9)
    # among other vendors' members, and with other ot sub-keys (rv: the randomness)
    assert sampling_weight(f"vendor=x,ot=rv:0123456789abcd;th:{threshold(probability)}") \
        == pytest.approx(1 / probability, rel=1e-9)


@pytest.mark.parametrize("state", ["", "vendor=th:8", "ot=th:", "ot=th:zz", "ot=th:123456789abcdef0", "ot=rv:8"])
def test_no_threshold_or_a_malformed_one_weighs_one(state: str) -> None:
    assert sampling_weight(state) == 1.0


def test_red_counts_the_requests_behind_sampled_spans(store: Store, make_traces: MakeTraces) -> None:
    rnd = random.Random(7)
    traces = make_traces(store)
    spans = [S("shop/pay", rnd.randbytes(16), rnd.randbytes(8), kind=SERVER, start_ms=-(n + 1) * 1000.0,
               duration_ms=10.0 * (n + 1), status=2 if n < 3 else 1) for n in range(12)]
    body = request(spans, at_ns=NOW_NS)
    for n, span in enumerate(s for rs in body.resource_spans for ss in rs.scope_spans for s in ss.spans):
        # 6 spans sampled at 1/4 (3 errors among them), 6 unsampled
        span.trace_state = f"ot=th:{threshold(0.25)}" if n < 6 else ""
    assert traces.ingest(decode(body, Sanitizer()))
    assert traces.flush(30)

    answer = traces.red("shop/pay", 60, at=NOW)
    assert answer["requests"] == 6 * 4 + 6
    assert answer["rate_per_s"] == pytest.approx(30 / 60)
    assert answer["error_ratio"] == pytest.approx(3 * 4 / 30)
    assert answer["p50_ms"] == pytest.approx(65.0, abs=0.01)  # the sampled durations 10..120 ms, unweighted
