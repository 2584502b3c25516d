"""Watcher edge cases: the official client against a scripted list/watch endpoint."""

from __future__ import annotations

import threading

from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient
from tests.clients.promstack import free_port
from tests.clients.watchserver import GONE, Script, line, pod, watch_server


def _client(url: str) -> KubeClient:
    configuration = k8s.Configuration(host=url)
    return KubeClient(k8s.ApiClient(configuration), request_timeout=5)


def test_list_then_resume_from_the_last_version_counting_bad_lines() -> None:
    script = Script(lists=[([pod("a", "5"), pod("b", "7")], "10")], watches=[[
        line("ADDED", pod("c", "11")),
        "this is not json",
        '{"type": "ADDED"}',
        line("WEIRD", pod("d", "12")),
        "\udcff\udcfe binary junk",
        line("BOOKMARK", {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "15"}}),
        line("MODIFIED", pod("c", "16", phase="Failed")),
    ], []])
    with watch_server(script) as url:
        watcher = _client(url).watcher("pods", "shop")
        first = watcher.step()
        assert [(e.type, e.obj.get("metadata", {}).get("name")) for e in first] == [
            ("SYNC", "a"), ("SYNC", "b"), ("SYNCED", None)]
        assert watcher.resource_version == "10"
        second = watcher.step(timeout_seconds=3)
        assert [(e.type, e.obj["metadata"]["name"]) for e in second] == [("ADDED", "c"), ("MODIFIED", "c")]
        assert second[1].obj["status"]["phase"] == "Failed"
        assert watcher.stats["malformed_lines"] == 4
        assert watcher.stats["bookmarks"] == 1
        assert watcher.resource_version == "16"
        watcher.step()
    watch_requests = [r for r in script.requests if r.get("watch") == "true"]
    assert [r["resourceVersion"] for r in watch_requests] == ["10", "16"]
    assert watch_requests[0]["timeoutSeconds"] == "3" and watch_requests[0]["allowWatchBookmarks"] == "true"
    assert all(r["path"] == "/api/v1/namespaces/shop/pods" for r in script.requests)


def test_410_in_the_stream_or_as_status_relists() -> None:
    script = Script(lists=[([pod("a", "5")], "10"), ([pod("b", "30")], "30"), ([pod("c", "40")], "40")],
                    watches=[[line("ADDED", pod("x", "11")), GONE], 410])
    with watch_server(script) as url:
        watcher = _client(url).watcher("pods")
        watcher.step()
        assert [e.type for e in watcher.step()] == ["ADDED"]  # what came before the 410 is kept
        assert watcher.resource_version is None and watcher.stats["relists"] == 1
        relisted = watcher.step()
        assert [e.obj.get("metadata", {}).get("name") for e in relisted] == ["b", None]
        assert watcher.step() == [] and watcher.stats["relists"] == 2
        assert [e.obj.get("metadata", {}).get("name") for e in watcher.step()] == ["c", None]
    assert [r.get("resourceVersion") for r in script.requests if r.get("watch")] == ["10", "30"]
    assert script.requests[0]["path"] == "/api/v1/pods"


def test_run_reconnects_with_backoff_and_stops() -> None:
    watcher = _client(f"http://127.0.0.1:{free_port()}").watcher("nodes")
    stop = threading.Event()
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 5:
            stop.set()

    assert list(watcher.run(stop, sleep=sleep)) == []
    assert watcher.stats["reconnects"] == 5
    assert delays == sorted(delays) and delays[-1] > delays[0]
    assert all(d <= 30 for d in delays)


def test_run_yields_changes_across_streams() -> None:
    script = Script(lists=[([pod("a", "5")], "10")],
                    watches=[[line("ADDED", pod("b", "11"))], [line("DELETED", pod("b", "12"))]])
    with watch_server(script) as url:
        watcher = _client(url).watcher("pods")
        seen = []
        for event in watcher.run(timeout_seconds=1):
            seen.append((event.type, event.obj.get("metadata", {}).get("name")))
            if event.type == "DELETED":
                watcher.close()
    assert seen == [("SYNC", "a"), ("SYNCED", None), ("ADDED", "b"), ("DELETED", "b")]


def test_client_watch_generator_with_shared_stats() -> None:
    from collections import Counter

    script = Script(lists=[([pod("a", "5")], "10")], watches=[["garbage", line("ADDED", pod("b", "11"))]])
    stats: Counter[str] = Counter()
    stop = threading.Event()
    with watch_server(script) as url:
        seen = []
        for event in _client(url).watch("pods", "shop", stop=stop, timeout_seconds=1, stats=stats):
            seen.append(event.type)
            if event.type == "ADDED":
                stop.set()
    assert seen == ["SYNC", "SYNCED", "ADDED"]
    assert stats["malformed_lines"] == 1 and stats["lists"] == 1
