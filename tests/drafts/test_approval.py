"""PR-based approval, end to end with real repositories: a drafted rule is inactive on its branch and takes
effect only when merged into the watched branch; with signed commits required, only a tip signed by a
trusted key (SSH allowed signers or a GPG keyring) activates."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.errors import ConfigError
from tagent.policy.gitops import PollStatus, RulesSource
from tagent.policy.signatures import SignaturePolicy
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.drafts.conftest import Replay, cart_incident, proposer_for
from tests.policy.gitrepo import MemoryRecorder, RulesRepo, git

BOB = "Bob <bob@example.com>"
EVE = "Eve <eve@example.com>"
NEW_RULE, NEW_PLAYBOOK = "cart-redis-clients-exhausted", "restart-cart-connections"


def draft_branch(llm_server: OpenAIReceiver, repo: RulesRepo, data_dir: Path) -> str:
    llm_server.responder = Replay.of("valid")
    incident, evidence = cart_incident()
    proposal = proposer_for(llm_server, repo, data_dir).propose(incident, evidence)
    assert proposal.status == "proposed" and proposal.branch is not None
    return proposal.branch


def merge(repo: RulesRepo, branch: str, author: str = BOB, *sign: str) -> str:
    """What a reviewer's merge does: merge the branch into main in a clone and push main."""
    git("fetch", "--quiet", "origin", f"{branch}:refs/remotes/origin/{branch}", cwd=repo.work, author=author)
    git(*sign, "merge", "--quiet", "--no-ff", *(["-S"] if sign else []), "-m", f"Merge {branch}",
        f"origin/{branch}", cwd=repo.work, author=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=repo.work, author=author)
    return git("rev-parse", "HEAD", cwd=repo.work)


def push_empty(repo: RulesRepo, message: str, author: str, *sign: str) -> str:
    git(*sign, "commit", "--quiet", "--allow-empty", *(["-S"] if sign else []), "-m", message, cwd=repo.work,
        author=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=repo.work, author=author)
    return git("rev-parse", "HEAD", cwd=repo.work)


def test_a_drafted_rule_takes_effect_only_when_merged(
        llm_server: OpenAIReceiver, rules_repo: RulesRepo, tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    source = RulesSource(str(rules_repo.remote), data_dir=tmp_path / "engine", recorder=recorder, promtool=None)
    assert source.poll().status is PollStatus.activated

    branch = draft_branch(llm_server, rules_repo, tmp_path / "data")
    assert source.poll().status is PollStatus.unchanged  # a pushed branch changes nothing
    active = source.current()
    assert active is not None and NEW_RULE not in active.ruleset.rules

    merged = merge(rules_repo, branch)
    result = source.poll()
    assert (result.status, result.version, result.author) == (PollStatus.activated, merged, BOB)
    active = source.current()
    assert active is not None and active.version.version == merged
    assert active.ruleset.rules[NEW_RULE].spec.then.playbook == NEW_PLAYBOOK
    assert NEW_PLAYBOOK in active.ruleset.playbooks and "crashloop-restart" in active.ruleset.rules
    assert [sha for sha, _, _ in recorder.activations][-1] == merged


@pytest.fixture
def ssh_keys(tmp_path: Path) -> dict[str, Path]:
    keys = {}
    for who in ("approver", "eve"):
        key = tmp_path / "keys" / who
        key.parent.mkdir(exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(key)], check=True,
                       timeout=30)
        keys[who] = key
    allowed = tmp_path / "keys" / "allowed_signers"
    allowed.write_text(f"bob@example.com {keys['approver'].with_suffix('.pub').read_text()}")
    keys["allowed"] = allowed
    return keys


def ssh_sign(key: Path) -> tuple[str, ...]:
    return ("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}")


def test_with_signatures_required_only_a_tip_signed_by_an_allowed_key_activates(
        llm_server: OpenAIReceiver, rules_repo: RulesRepo, tmp_path: Path, ssh_keys: dict[str, Path]) -> None:
    settings = Settings(rules=str(rules_repo.remote), data_dir=tmp_path / "engine", rules_require_signed=True,
                        rules_allowed_signers=ssh_keys["allowed"])
    recorder = MemoryRecorder()
    source = RulesSource.from_settings(settings, recorder)  # the production wiring

    unsigned = git("rev-parse", "HEAD", cwd=rules_repo.work)
    result = source.poll()
    assert result.status is PollStatus.rejected and source.current() is None
    assert result.problems[0].startswith(f"{unsigned[:12]}: commit is not signed; rules_require_signed")

    adopted = push_empty(rules_repo, "adopt signed rules", BOB, *ssh_sign(ssh_keys["approver"]))
    assert source.poll().status is PollStatus.activated

    branch = draft_branch(llm_server, rules_repo, tmp_path / "data")
    merged = merge(rules_repo, branch)  # merged without a signature: refused
    result = source.poll()
    assert (result.status, result.version) == (PollStatus.rejected, merged)
    assert "commit is not signed" in result.problems[0]
    active = source.current()
    assert active is not None and active.version.version == adopted and NEW_RULE not in active.ruleset.rules

    eve = push_empty(rules_repo, "lgtm", EVE, *ssh_sign(ssh_keys["eve"]))  # signed, but not by an allowed key
    result = source.poll()
    assert (result.status, result.version) == (PollStatus.rejected, eve)
    assert "is signed by a key that is not trusted" in result.problems[0]
    assert [v for v, _, _, _ in recorder.rejections] == [unsigned, merged, eve]

    approved = push_empty(rules_repo, "approve the cart rule", BOB, *ssh_sign(ssh_keys["approver"]))
    result = source.poll()
    assert (result.status, result.version) == (PollStatus.activated, approved)
    active = source.current()
    assert active is not None and NEW_RULE in active.ruleset.rules


def test_a_signed_merge_by_the_approver_activates_directly(
        llm_server: OpenAIReceiver, rules_repo: RulesRepo, tmp_path: Path, ssh_keys: dict[str, Path]) -> None:
    adopted = push_empty(rules_repo, "adopt signed rules", BOB, *ssh_sign(ssh_keys["approver"]))
    source = RulesSource(str(rules_repo.remote), data_dir=tmp_path / "engine", recorder=MemoryRecorder(),
                         promtool=None, signatures=SignaturePolicy(allowed_signers=ssh_keys["allowed"]))
    assert source.poll().version == adopted
    branch = draft_branch(llm_server, rules_repo, tmp_path / "data")
    merged = merge(rules_repo, branch, BOB, *ssh_sign(ssh_keys["approver"]))
    result = source.poll()
    assert (result.status, result.version) == (PollStatus.activated, merged)


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A signing home with Bob's key and a trusted home holding only his public key."""
    homes = {name: tmp_path / f"gpg-{name}" for name in ("signing", "trusted", "stranger")}
    for home in homes.values():
        home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--no-tty", "--passphrase", ""]
    try:
        for name, who in (("signing", BOB), ("stranger", EVE)):
            subprocess.run([*gpg, "--homedir", str(homes[name]), "--quick-gen-key", who, "ed25519", "sign", "never"],
                           check=True, timeout=60, capture_output=True)
        public = subprocess.run(["gpg", "--batch", "--homedir", str(homes["signing"]), "--export", "bob@example.com"],
                                check=True, timeout=30, capture_output=True).stdout
        subprocess.run([*gpg, "--homedir", str(homes["trusted"]), "--import"], input=public, check=True, timeout=30,
                       capture_output=True)
        yield homes
    finally:
        for home in homes.values():  # stop the agents these homes started
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], timeout=30, capture_output=True)


def test_gpg_signatures_are_checked_against_the_trusted_keyring(
        rules_repo: RulesRepo, tmp_path: Path, gnupg: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    source = RulesSource(str(rules_repo.remote), data_dir=tmp_path / "engine", recorder=MemoryRecorder(),
                         promtool=None, signatures=SignaturePolicy(gpg_home=gnupg["trusted"]))
    monkeypatch.setenv("GNUPGHOME", str(gnupg["stranger"]))
    eve = push_empty(rules_repo, "signed by a stranger", EVE, "-c", "user.signingkey=eve@example.com")
    result = source.poll()
    assert (result.status, result.version) == (PollStatus.rejected, eve)
    assert "cannot be checked (unknown key)" in result.problems[0]

    monkeypatch.setenv("GNUPGHOME", str(gnupg["signing"]))
    bob = push_empty(rules_repo, "signed by bob", BOB, "-c", "user.signingkey=bob@example.com")
    result = source.poll()
    assert (result.status, result.version) == (PollStatus.activated, bob)


def test_requiring_signatures_without_trusted_keys_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs rules_allowed_signers"):
        SignaturePolicy.from_settings(Settings(rules_require_signed=True))
    with pytest.raises(ConfigError, match="is not a file"):
        SignaturePolicy(allowed_signers=tmp_path / "missing")
    assert SignaturePolicy.from_settings(Settings()) is None
