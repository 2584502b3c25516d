"""Bad input on the Kubernetes-backed sources is counted and logged, never a crash: log lines that are not
UTF-8, malformed objects in a list, malformed watch lines (a scripted API endpoint serves them)."""

from __future__ import annotations

from datetime import UTC, datetime

from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient
from tagent.model.core import Event, WorkloadRef
from tagent.sources.base import SourceQuery
from tagent.sources.kubernetes import KubernetesSource
from tagent.sources.logs import LogSource, split_timestamp
from tests.clients.watchserver import Script, line, pod, watch_server

NOW = datetime(2030, 1, 1, 0, 0, 15, tzinfo=UTC)
CART = WorkloadRef(kind="Deployment", namespace="shop", name="cart")


def _kube(url: str) -> KubeClient:
    return KubeClient(k8s.ApiClient(k8s.Configuration(host=url)), request_timeout=5)


def test_split_timestamp() -> None:
    stamp, body = split_timestamp(b"2030-01-01T00:00:05.123456789Z hello world")
    assert stamp == datetime(2030, 1, 1, 0, 0, 5, 123456, tzinfo=UTC) and body == b"hello world"
    assert split_timestamp(b"no stamp here") == (None, b"no stamp here")


def test_non_utf8_lines_are_counted_and_still_matched() -> None:
    first = (b'2030-01-01T00:00:10.000000001Z "GET / HTTP/1.1" 500 1 \xff\xfe\n'
             b'2030-01-01T00:00:11.000000001Z "GET / HTTP/1.1" 500 1 ok\n'
             b'2030-01-01T00:00:12.000000001Z "GET / HTTP/1.1" 200 1 ok\n')
    second = (b'2030-01-01T00:00:12.000000001Z "GET / HTTP/1.1" 200 1 ok\n'  # overlap: read already
              b'2030-01-01T00:00:40.000000001Z "GET / HTTP/1.1" 500 1 \xc3\x28\n')
    broken = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop"}}  # no name
    script = Script(lists=[([pod("cart-6d9f7c8b4-x2x4z", "5"), broken], "10")], watches=[],
                    logs={"cart-6d9f7c8b4-x2x4z": [first, second]})
    events: list[Event] = []
    clock = [NOW]
    with watch_server(script) as url:
        kube = _kube(url)
        source = LogSource([SourceQuery("http-500#0", r'" 500 ', 60)], events.append, kube=kube,
                           clock=lambda: clock[0])
        source.poll_once()
        assert [(e.target, e.values["count"]) for e in events] == [(CART, 2.0)]
        clock[0] = NOW.replace(second=45)
        source.poll_once()
        assert [e.values["count"] for e in events] == [2.0, 3.0]
    assert source.stats["non_utf8_lines"] == 2
    assert kube.stats["malformed_pods"] == 2  # the nameless pod, skipped on each listing
    log_requests = [r for r in script.requests if r["path"].endswith("/log")]
    assert [r["sinceSeconds"] for r in log_requests] == ["60", "34"]  # the window, then since the newest line
    assert all(r["timestamps"] == "true" and r["container"] == "app" for r in log_requests)


def test_malformed_watch_lines_and_objects_are_counted() -> None:
    nameless = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop", "resourceVersion": "12"}}
    script = Script(lists=[([pod("cart-6d9f7c8b4-x2x4z", "5")], "10")],
                    watches=[["{{{ not json", line("MODIFIED", nameless), '{"type": "ADDED", "object": 3}']])
    events: list[Event] = []
    with watch_server(script) as url:
        source = KubernetesSource(_kube(url), events.append, resources=("pods",), clock=lambda: NOW)
        source.poll_once()
        source.poll_once()
    assert source.stats["malformed_lines"] == 2
    assert source.stats["malformed_objects"] == 1
    assert events == []
