"""Fixtures of the detect tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tagent.detect import Detector
from tagent.model.policy import Rule
from tests.detect.support import Clock

MakeDetector = Callable[..., Detector]


@pytest.fixture
def make() -> Iterator[MakeDetector]:
    """Build Detectors (protected namespaces kube-system and tagent) and close them after the test."""
    made: list[Detector] = []

    def build(*rules: Rule, clock: Clock | None = None, version: str = "sha1") -> Detector:
        det = Detector(list(rules), version, clock or Clock(), ["kube-system", "tagent"])
        made.append(det)
        return det

    yield build
    for det in made:
        det.close()
