"""A local forge: the documented GitHub and GitLab endpoints that open pull/merge requests, over a real
bare Git repository (a request for a branch that was not pushed fails, as on the real service).

GitHub: `POST /repos/{owner}/{repo}/pulls` with `Authorization: Bearer <token>` (or `token <token>`);
201 with `number` and `html_url`; 401 "Bad credentials"; 404 "Not Found"; 422 "Validation Failed" for an
unknown head/base or a second open pull request for the same head.
GitLab: `POST /api/v4/projects/{id}/merge_requests` (`id` numeric or the URL-encoded path) with
`PRIVATE-TOKEN: <token>` (or `Authorization: Bearer`); 201 with `iid` and `web_url`; 401 "401
Unauthorized"; 404 "404 Project Not Found"; 409 when an open merge request exists for the source branch.
"""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

from tagent.sandbox.receivers import RecordedRequest, RecordingServer, Reply


def branch_sha(bare: Path, branch: str) -> str | None:
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=bare,
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip() or None


class ForgeServer(RecordingServer):
    """`kind` github or gitlab; `repo` owner/name (GitHub) or group/name with `project_id` (GitLab)."""

    def __init__(self, kind: str, bare: Path, *, repo: str, token: str, project_id: int = 42) -> None:
        super().__init__()
        self.kind, self.bare, self.repo, self.token, self.project_id = kind, bare, repo, token, project_id
        self.opened: list[dict[str, Any]] = []

    @property
    def api_url(self) -> str:
        return self.base_url if self.kind == "github" else f"{self.base_url}/api/v4"

    def handle(self, request: RecordedRequest) -> Reply:
        return self._github(request) if self.kind == "github" else self._gitlab(request)

    # -- GitHub ----------------------------------------------------------------------------------
    def _github(self, request: RecordedRequest) -> Reply:
        auth = request.headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return Reply.of_json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                                  "status": "401"}, status=401)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls", request.path)
        if request.method != "POST" or m is None or f"{m[1]}/{m[2]}" != self.repo:
            return Reply.of_json({"message": "Not Found", "status": "404"}, status=404)
        body = request.json()
        if not isinstance(body, dict) or not body.get("head") or not body.get("base"):
            return self._invalid("PullRequest", "head", "missing_field")
        head_sha = branch_sha(self.bare, str(body["head"]))
        if head_sha is None:
            return self._invalid("PullRequest", "head", "invalid")
        if branch_sha(self.bare, str(body["base"])) is None:
            return self._invalid("PullRequest", "base", "invalid")
        if any(pr["head"]["ref"] == body["head"] and pr["state"] == "open" for pr in self.opened):
            owner = self.repo.split("/")[0]
            return Reply.of_json({"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom",
                 "message": f"A pull request already exists for {owner}:{body['head']}."}]}, status=422)
        number = len(self.opened) + 1
        pr = {"url": f"{self.base_url}/repos/{self.repo}/pulls/{number}", "number": number, "state": "open",
              "html_url": f"https://github.example/{self.repo}/pull/{number}", "title": body.get("title", ""),
              "body": body.get("body", ""), "head": {"ref": body["head"], "sha": head_sha},
              "base": {"ref": body["base"]}, "draft": bool(body.get("draft", False))}
        self.opened.append(pr)
        return Reply.of_json(pr, status=201)

    @staticmethod
    def _invalid(resource: str, field: str, code: str) -> Reply:
        return Reply.of_json({"message": "Validation Failed",
                              "errors": [{"resource": resource, "field": field, "code": code}]}, status=422)

    # -- GitLab ----------------------------------------------------------------------------------
    def _gitlab(self, request: RecordedRequest) -> Reply:
        token = request.headers.get("private-token") or request.headers.get("authorization", "").removeprefix(
            "Bearer ")
        if token != self.token:
            return Reply.of_json({"message": "401 Unauthorized"}, status=401)
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests", request.path)
        project = urllib.parse.unquote(m[1]) if m else ""
        if request.method != "POST" or project not in (self.repo, str(self.project_id)):
            return Reply.of_json({"message": "404 Project Not Found"}, status=404)
        body = request.json()
        missing = [k for k in ("source_branch", "target_branch", "title") if not (body or {}).get(k)]
        if missing:
            return Reply.of_json({"error": f"{missing[0]} is missing"}, status=400)
        for key in ("source_branch", "target_branch"):
            if branch_sha(self.bare, str(body[key])) is None:
                return Reply.of_json({"message": {key: ["is invalid"]}}, status=422)
        clash = next((mr for mr in self.opened if mr["source_branch"] == body["source_branch"]
                      and mr["state"] == "opened"), None)
        if clash is not None:
            return Reply.of_json({"message": ["Another open merge request already exists for this source branch: "
                                              f"!{clash['iid']}"]}, status=409)
        iid = len(self.opened) + 1
        mr = {"id": 1000 + iid, "iid": iid, "project_id": self.project_id, "state": "opened",
              "title": body["title"], "description": body.get("description", ""),
              "source_branch": body["source_branch"], "target_branch": body["target_branch"],
              "sha": branch_sha(self.bare, str(body["source_branch"])),
              "web_url": f"https://gitlab.example/{self.repo}/-/merge_requests/{iid}"}
        self.opened.append(mr)
        return Reply.of_json(mr, status=201)
