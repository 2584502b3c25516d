"""docs/api.md is the contract: every documented route exists with its method, and every route is documented.
Plus the shape of errors (one sentence) and the OpenAPI document."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import REPO

ROW = re.compile(r"^\| (GET|POST) \| `([^`?]+)(?:\?[^`]*)?` \|", re.M)


def _documented() -> set[tuple[str, str]]:
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    found = set()
    for method, path in ROW.findall(text):
        found.add((method, _shape(path)))
    return found


def _served(client: TestClient) -> set[tuple[str, str]]:
    """What the app serves, from its OpenAPI document (every route is in the schema)."""
    paths = client.get("/openapi.json").json()["paths"]
    return {(method.upper(), _shape(path)) for path, ops in paths.items() for method in ops}


def _shape(path: str) -> str:
    """Parameter names may differ between the doc and the code (`{ns}` vs `{namespace}`); positions may not."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_docs_and_routes_agree(api: TestClient) -> None:
    documented, served = _documented(), _served(api)
    assert len(documented) >= 25
    assert documented - served == set(), "documented but not served"
    assert served - documented == set(), "served but not documented in docs/api.md"


def test_openapi_and_docs_need_no_token(anon: TestClient) -> None:
    spec = anon.get("/openapi.json").json()
    assert spec["info"]["title"] == "Tagent engine API"
    assert anon.get("/docs").status_code == 200


def test_errors_are_one_sentence(api: TestClient) -> None:
    answers = [
        api.get("/api/v1/incidents", params={"limit": 0}),
        api.post("/api/v1/rules/test", json={}),
        api.post("/api/v1/rules/test", content=b"not json", headers={"content-type": "application/json"}),
        api.get("/api/v1/postmortems/x", params={"format": "pdf"}),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, detail
    assert answers[1].json()["detail"] == "body.rule: Field required (and 1 more problem)"
