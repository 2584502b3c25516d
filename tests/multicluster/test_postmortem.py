"""A post-mortem says in which cluster it happened whenever the engine watches several: a remote target by its
own cluster, a home-cluster target by the home cluster's name; with one cluster, no cluster line at all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tagent.debrief.postmortem import render_postmortem
from tagent.incidents.closing import Postmortems
from tagent.model import Incident, WorkloadRef
from tagent.store import Store

AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _incident(cluster: str) -> Incident:
    target = WorkloadRef(namespace="shop", name="cart", cluster=cluster)
    return Incident(fingerprint=f"crashloop-restart:{target.key}", rule="crashloop-restart", target=target,
                    opened_at=AT)


def _cluster_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("- **Cluster**")]


def test_the_cluster_line_names_the_remote_or_the_home_cluster() -> None:
    assert _cluster_lines(render_postmortem(_incident("west"), home_cluster="east")) == ["- **Cluster**: `west`"]
    assert _cluster_lines(render_postmortem(_incident(""), home_cluster="east")) == ["- **Cluster**: `east`"]
    assert _cluster_lines(render_postmortem(_incident(""))) == []  # one cluster: nothing to tell apart
    assert "on shop/cart in west" in render_postmortem(_incident("west")).splitlines()[0]


def test_the_lifecycle_writes_it_with_the_home_cluster_it_was_given(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'tagent.db'}") as store:
        home, _ = store.incidents.open(_incident(""))
        several = Postmortems(store, mask=lambda s: s, home_cluster="east")
        assert _cluster_lines(several.write(home, AT).markdown) == ["- **Cluster**: `east`"]
        single = Postmortems(store, mask=lambda s: s)
        assert _cluster_lines(single.write(home, AT).markdown) == []
