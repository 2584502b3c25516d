"""ForgeClient against a local server implementing the documented GitHub and GitLab endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tagent.clients.forge import ForgeClient
from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.settings import Settings
from tests.drafts.conftest import FORGE_TOKEN, git_out
from tests.drafts.forge_server import ForgeServer
from tests.policy.gitrepo import RulesRepo, git

GITLAB_TOKEN = "glpat-" + "Q" * 20


@pytest.fixture
def repo(tmp_path: Path) -> RulesRepo:
    (tmp_path / "git").mkdir()
    repo = RulesRepo.create(tmp_path / "git")
    repo.push("default pack")
    git("push", "--quiet", "origin", "HEAD:refs/heads/tagent/draft-1", cwd=repo.work)
    return repo


@pytest.fixture
def github(repo: RulesRepo) -> Iterator[ForgeServer]:
    with ForgeServer("github", repo.remote, repo="acme/sre-rules", token=FORGE_TOKEN) as server:
        yield server


@pytest.fixture
def gitlab(repo: RulesRepo) -> Iterator[ForgeServer]:
    with ForgeServer("gitlab", repo.remote, repo="sre/platform/rules", token=GITLAB_TOKEN, project_id=7) as server:
        yield server


def client(server: ForgeServer, token: str | None = None, repo: str | None = None) -> ForgeClient:
    settings = Settings(forge_kind=server.kind, forge_url=server.api_url, forge_repo=repo or server.repo,
                        forge_token=SecretStr(token or server.token))
    made = ForgeClient.from_settings(settings)
    assert made is not None
    return made


def test_github_pull_request(github: ForgeServer, repo: RulesRepo) -> None:
    pr = client(github).open_pull_request(head="tagent/draft-1", base="main", title="Draft", body="why")
    assert (pr.kind, pr.number, pr.url) == ("github", 1, "https://github.example/acme/sre-rules/pull/1")
    [request] = github.requests
    assert request.method == "POST" and request.path == "/repos/acme/sre-rules/pulls"
    assert request.headers["authorization"] == f"Bearer {FORGE_TOKEN}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.json() == {"title": "Draft", "head": "tagent/draft-1", "base": "main", "body": "why",
                              "maintainer_can_modify": True}
    assert github.opened[0]["head"]["sha"] == git_out("rev-parse", "tagent/draft-1", cwd=repo.remote).strip()


def test_github_refusals_are_permanent_and_name_the_reason_without_the_token(github: ForgeServer) -> None:
    with pytest.raises(PermanentError, match=r"HTTP 401: Bad credentials") as bad:
        client(github, token="ghp_wrong").open_pull_request(head="tagent/draft-1", base="main", title="t", body="")
    assert "ghp_wrong" not in str(bad.value)
    good = client(github)
    with pytest.raises(PermanentError, match=r"HTTP 422: Validation Failed; invalid"):
        good.open_pull_request(head="not-pushed", base="main", title="t", body="")
    good.open_pull_request(head="tagent/draft-1", base="main", title="t", body="")
    with pytest.raises(PermanentError, match=r"A pull request already exists for acme:tagent/draft-1"):
        good.open_pull_request(head="tagent/draft-1", base="main", title="t", body="")
    with pytest.raises(PermanentError, match=r"HTTP 404: Not Found"):
        client(github, repo="acme/other").open_pull_request(head="tagent/draft-1", base="main", title="t", body="")


def test_server_errors_and_an_unreachable_forge_are_transient(github: ForgeServer) -> None:
    github.fail_next(1, status=502)
    with pytest.raises(TransientError, match="HTTP 502"):
        client(github).open_pull_request(head="tagent/draft-1", base="main", title="t", body="")
    url = github.api_url
    github.stop()
    unreachable = ForgeClient("github", "acme/sre-rules", SecretStr(FORGE_TOKEN), base_url=url)
    with pytest.raises(TransientError, match="unreachable"):
        unreachable.open_pull_request(head="tagent/draft-1", base="main", title="t", body="")


def test_the_transport_is_the_seam() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "API rate limit exceeded"})

    forge = ForgeClient("github", "acme/sre-rules", SecretStr(FORGE_TOKEN), transport=httpx.MockTransport(answer))
    with pytest.raises(TransientError, match="rate limit") as limited:
        forge.open_pull_request(head="b", base="main", title="t", body="")
    assert limited.value.delay == 7.0
    assert str(seen[0].url) == "https://api.github.com/repos/acme/sre-rules/pulls"


def test_gitlab_merge_request_by_path_or_id(gitlab: ForgeServer) -> None:
    mr = client(gitlab).open_pull_request(head="tagent/draft-1", base="main", title="Draft", body="why")
    assert (mr.kind, mr.number, mr.url) == ("gitlab", 1, "https://gitlab.example/sre/platform/rules/-/merge_requests/1")
    request = gitlab.requests[0]
    assert request.path == "/api/v4/projects/sre%2Fplatform%2Frules/merge_requests"
    assert request.headers["private-token"] == GITLAB_TOKEN and "authorization" not in request.headers
    assert request.json() == {"source_branch": "tagent/draft-1", "target_branch": "main", "title": "Draft",
                              "description": "why", "remove_source_branch": True}
    with pytest.raises(PermanentError, match=r"HTTP 409: Another open merge request already exists .*: !1"):
        client(gitlab, repo="7").open_pull_request(head="tagent/draft-1", base="main", title="t", body="")
    assert gitlab.requests[1].path == "/api/v4/projects/7/merge_requests"
    with pytest.raises(PermanentError, match=r"HTTP 401: 401 Unauthorized"):
        client(gitlab, token="glpat-wrong-token-000").open_pull_request(head="x", base="main", title="t", body="")
    with pytest.raises(PermanentError, match=r"HTTP 422: source_branch is invalid"):
        client(gitlab).open_pull_request(head="not-pushed", base="main", title="t", body="")


def test_configuration_errors_are_clear() -> None:
    assert ForgeClient.from_settings(Settings()) is None  # no token: the branch alone is the proposal
    with pytest.raises(ConfigError, match="forge_repo is empty"):
        ForgeClient.from_settings(Settings(forge_token=SecretStr("t")))
    with pytest.raises(ConfigError, match="is not owner/name"):
        ForgeClient("github", "just-a-name", SecretStr("t"))
