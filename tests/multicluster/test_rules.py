"""Rules scoped to clusters: `match.clusters` names clusters as people do (the home one by
TAGENT_CLUSTER_NAME); a rule without it matches in every cluster; a bad name is a validation error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tagent.detect import Detector
from tagent.model import Event, EventSource, WorkloadRef
from tests.detect.support import Clock, rule


def crash(cluster: str) -> Event:
    return Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff",
                 target=WorkloadRef(namespace="shop", name="cart", cluster=cluster))


def test_match_clusters_scopes_a_rule() -> None:
    when = {"kubernetes": {"reason": "CrashLoopBackOff"}}
    rules = [rule("prod-only", when, match={"clusters": ["prod"]}),
             rule("home-only", when, match={"clusters": ["east"]}),
             rule("anywhere", when)]
    det = Detector(rules, "v1", Clock(), ["kube-system"], home_cluster="east")
    try:
        fired = {c: sorted(d.rule for d in det.process(crash(c))) for c in ("", "prod", "west")}
        assert fired == {"": ["anywhere", "home-only"], "prod": ["anywhere", "prod-only"], "west": ["anywhere"]}
        [decision] = [d for d in det.process(crash("prod")) if d.rule == "prod-only"]
        assert decision.target.cluster == "prod" and decision.target.key == "prod:Deployment/shop/cart"
    finally:
        det.close()


@pytest.mark.parametrize("bad", ["Prod", "prod_1", "-prod", ""])
def test_a_cluster_name_that_is_not_a_dns_label_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="clusters"):
        rule("x", {"kubernetes": {"reason": "CrashLoopBackOff"}}, match={"clusters": [bad]})
