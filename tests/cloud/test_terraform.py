"""Terraform-managed Auto Scaling groups (issue 17): the change becomes a pull request on the Terraform
repository that edits the variable (checked by parsing the HCL), opened through the same forge client as
drafted rules, against a real bare Git repository and the local forge; the group itself is not touched."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import hcl2
import pytest
from pydantic import SecretStr

from tagent.cloud.aws import AwsCloud
from tagent.cloud.settings import TerraformTarget
from tagent.cloud.terraform import TerraformProposer, read_variable, set_variable
from tagent.errors import ValidationError
from tagent.model import StepStatus
from tagent.settings import Settings
from tests.cloud.motoserver import REGION, MotoAws
from tests.cloud.pack import wired
from tests.drafts.forge_server import ForgeServer

TOKEN = "ghp_" + "T3rr4f0rm" * 4
TFVARS = """# Sizes of the web tier
region               = "eu-west-1"
web_desired_capacity = 2 # changed by pull request only
web_max_size         = 6
"""
VARIABLES_TF = """variable "api_desired" {
  type        = number
  description = "API servers"
  default     = 3
}

resource "aws_autoscaling_group" "api" {
  name             = "api"
  desired_capacity = var.api_desired
  min_size         = 1
  max_size         = 6
}
"""


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60,
                          env={"GIT_AUTHOR_NAME": "Ops", "GIT_AUTHOR_EMAIL": "ops@example.com", "HOME": str(cwd),
                               "GIT_COMMITTER_NAME": "Ops", "GIT_COMMITTER_EMAIL": "ops@example.com",
                               "PATH": "/usr/bin:/bin"}).stdout.strip()


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    """A bare repository `infra.git` with the Terraform code on main."""
    bare, work = tmp_path / "infra.git", tmp_path / "infra-work"
    git("init", "--quiet", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    git("init", "--quiet", "-b", "main", str(work), cwd=tmp_path)
    (work / "envs" / "prod").mkdir(parents=True)
    (work / "envs" / "prod" / "web.auto.tfvars").write_text(TFVARS)
    (work / "envs" / "prod" / "api.tf").write_text(VARIABLES_TF)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "infra", cwd=work)
    git("push", "--quiet", str(bare), "HEAD:main", cwd=work)
    return bare


@pytest.fixture
def forge(infra: Path) -> Iterator[ForgeServer]:
    with ForgeServer("github", infra, repo="acme/infra", token=TOKEN) as server:
        yield server


def _proposer(tmp_path: Path, forge: ForgeServer) -> TerraformProposer:
    return TerraformProposer(tmp_path / "clones", forge_kind="github", forge_token=SecretStr(TOKEN),
                             forge_url=forge.api_url)


def _file_on(bare: Path, branch: str, path: str) -> str:
    return git("show", f"{branch}:{path}", cwd=bare)


def test_tagged_and_mapped_group_gets_a_pull_request_not_an_api_call(moto: MotoAws, tmp_path: Path, infra: Path,
                                                                      forge: ForgeServer) -> None:
    moto.group("web", minimum=1, maximum=6, desired=2, tags={"ManagedBy": "terraform"})
    mapping = {"web": TerraformTarget(repo_url=str(infra), forge_repo="acme/infra",
                                      file="envs/prod/web.auto.tfvars", variable="web_desired_capacity")}
    with wired(moto, tmp_path, terraform=mapping) as base:
        env = base.variant(terraform=_proposer(tmp_path, forge))
        result = env.registry["aws.asg_set_capacity"].run({"group": "web", "region": REGION, "desired": 4},
                                                          env.ctx(origin="chat:alice"))
        assert result.status == StepStatus.ok, result.detail
        assert result.data["via"] == "terraform" and result.data["pull_request"].endswith("/acme/infra/pull/1")
        assert "merging it is the approval" in result.detail
        audit = [a for a in env.store.audit.list() if a.action == "aws.asg_set_capacity"]
        assert len(audit) == 1 and audit[0].result == "ok"
    assert moto.desired("web") == 2  # Terraform's resource was not changed behind its back

    assert len(forge.opened) == 1
    pr = forge.opened[0]
    assert pr["base"]["ref"] == "main" and pr["title"] == "Set web desired capacity to 4 (was 2)"
    assert "chat:alice" in pr["body"] and TOKEN not in pr["body"]
    edited = _file_on(infra, pr["head"]["ref"], "envs/prod/web.auto.tfvars")
    assert hcl2.loads(edited)["web_desired_capacity"] == 4
    assert edited == TFVARS.replace("= 2 #", "= 4 #").rstrip("\n")  # nothing else moved, the comment kept
    assert _file_on(infra, "main", "envs/prod/web.auto.tfvars") == TFVARS.rstrip("\n")


def test_group_mapped_in_settings_edits_the_variable_default(moto: MotoAws, tmp_path: Path, infra: Path,
                                                             forge: ForgeServer) -> None:
    moto.group("api", minimum=1, maximum=6, desired=3)  # no tag: the mapping alone says Terraform owns it
    mapping = {f"{REGION}/api": TerraformTarget(repo_url=str(infra), forge_repo="acme/infra",
                                                file="envs/prod/api.tf", variable="api_desired")}
    with wired(moto, tmp_path, terraform=mapping) as base:
        env = base.variant(terraform=_proposer(tmp_path, forge))
        result = env.registry["aws.asg_set_capacity"].run({"group": "api", "region": REGION, "desired": 5},
                                                          env.ctx())
        beyond = env.registry["aws.asg_set_capacity"].run({"group": "api", "region": REGION, "desired": 7},
                                                          env.ctx())
    assert result.status == StepStatus.ok and result.data["via"] == "terraform", result.detail
    assert beyond.status == StepStatus.blocked and "outside api's bounds 1..6" in beyond.detail
    assert moto.desired("api") == 3 and len(forge.opened) == 1
    edited = _file_on(infra, forge.opened[0]["head"]["ref"], "envs/prod/api.tf")
    assert read_variable(edited, "api_desired", "api.tf") == 5
    parsed = hcl2.loads(edited)
    assert parsed["resource"] == hcl2.loads(VARIABLES_TF)["resource"]


def test_tagged_but_unmapped_group_is_not_changed_at_all(moto: MotoAws, tmp_path: Path, forge: ForgeServer) -> None:
    moto.group("jobs", minimum=1, maximum=6, desired=2, tags={"ManagedBy": "Terraform"})
    with wired(moto, tmp_path) as base:
        env = base.variant(terraform=_proposer(tmp_path, forge))
        result = env.registry["aws.asg_set_capacity"].run({"group": "jobs", "region": REGION, "desired": 3},
                                                          env.ctx())
    assert result.status == StepStatus.failed
    assert "managed by Terraform" in result.detail and "no repository and variables file" in result.detail
    assert moto.desired("jobs") == 2 and forge.opened == []


def test_hcl_edits_are_checked() -> None:
    assert set_variable(TFVARS, "web_max_size", 8, "web.tfvars").count("8") == 1
    with pytest.raises(ValidationError, match="is not valid HCL"):
        set_variable("web_desired_capacity = = 2\n", "web_desired_capacity", 3, "broken.tfvars")
    with pytest.raises(ValidationError, match="assigns no variable 'nope'"):
        set_variable(TFVARS, "nope", 3, "web.tfvars")
    with pytest.raises(ValidationError, match="not a plain number; change it by hand"):
        set_variable("size = var.other\n", "size", 3, "x.tfvars")
    with pytest.raises(ValueError, match="leaves the repository"):
        TerraformTarget(repo_url="x", forge_repo="a/b", file="envs/../../etc/x.tf", variable="v")


def test_built_from_the_forge_settings_of_drafted_rules(tmp_path: Path) -> None:
    assert TerraformProposer.from_settings(Settings(data_dir=tmp_path)) is None  # no forge: refused, not guessed
    proposer = TerraformProposer.from_settings(Settings(data_dir=tmp_path, forge_kind="gitlab",
                                                        forge_token=SecretStr(TOKEN), forge_url="http://forge.test"))
    assert proposer is not None and (proposer.forge_kind, proposer.forge_url) == ("gitlab", "http://forge.test")
    assert proposer.workdir == tmp_path / "terraform-git"
    assert AwsCloud.from_settings(Settings(data_dir=tmp_path)) is None  # no aws_regions: AWS is off
