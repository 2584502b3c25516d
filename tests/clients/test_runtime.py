"""Runtime inference from images, labels and ports (pure)."""

from __future__ import annotations

import pytest

from tagent.clients.kubernetes.runtime import image_name, infer_runtime
from tagent.model.inventory import Runtime


@pytest.mark.parametrize(("images", "labels", "ports", "expected"), [
    (["node:20-alpine"], {}, [], Runtime.nodejs),
    (["registry.example.com:5000/team/python:3.12-slim@sha256:abc"], {}, [], Runtime.python),
    (["eclipse-temurin:21-jre"], {}, [], Runtime.java),
    (["openjdk:17"], {}, [], Runtime.java),
    (["golang:1.22"], {}, [], Runtime.go),
    (["bitnami/postgresql:16"], {}, [], Runtime.database),
    (["mongo:7"], {}, [], Runtime.database),
    (["redis:7"], {}, [], Runtime.cache),
    (["memcached:1.6"], {}, [], Runtime.cache),
    (["ghcr.io/acme/payments:1.2", "redis:7"], {}, [], Runtime.cache),  # first recognised container decides
    (["ghcr.io/acme/payments:1.2"], {"app.kubernetes.io/name": "payments-node"}, [], Runtime.nodejs),
    (["ghcr.io/acme/store:1"], {"app.kubernetes.io/component": "database"}, [], Runtime.database),
    (["ghcr.io/acme/store:1"], {}, [8080, 6379], Runtime.cache),
    (["ghcr.io/acme/store:1"], {}, [8080], Runtime.unknown),
    (["python:3.12"], {"tagent.io/runtime": "go"}, [], Runtime.go),  # explicit label wins
    (["python:3.12"], {"tagent.io/runtime": "cobol"}, [], Runtime.python),  # unknown explicit value ignored
])
def test_infer_runtime(images: list[str], labels: dict[str, str], ports: list[int], expected: Runtime) -> None:
    assert infer_runtime(images, labels, ports) == expected


def test_annotation_and_image_name() -> None:
    assert infer_runtime(["x:1"], {}, [], {"tagent.io/runtime": "java"}) == Runtime.java
    assert image_name("docker.io/library/node@sha256:1234") == "node"
