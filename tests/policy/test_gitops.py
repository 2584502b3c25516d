"""GitOps with real repositories: good commits activate, bad ones never do, an unreachable remote is survived."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tagent.clients.git import GitClient
from tagent.errors import PermanentError, TransientError
from tagent.policy.gitops import PollStatus, RulesSource
from tagent.settings import Settings
from tests.policy.gitrepo import MemoryRecorder, RulesRepo

BOB = "Bob <bob@example.com>"


class Clock:
    """A clock the test moves by hand (the source schedules polls and backoff on it)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _source(repo: RulesRepo, tmp_path: Path, recorder: MemoryRecorder, **kw: object) -> RulesSource:
    return RulesSource(str(repo.remote), data_dir=tmp_path / "data", recorder=recorder, promtool=None,
                       **kw)  # type: ignore[arg-type]


def test_good_commit_activates_and_bad_commit_never_does(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    good = repo.push("default pack")
    recorder, clock = MemoryRecorder(), Clock()
    source = _source(repo, tmp_path, recorder, clock=clock)
    assert source.is_git and source.current() is None

    result = source.poll()
    assert (result.status, result.version, result.author) == (PollStatus.activated, good, "Alice <alice@example.com>")
    active = source.current()
    assert active is not None and active.version.version == good
    assert "crashloop-restart" in active.ruleset.rules
    assert recorder.activations == [(good, "Alice <alice@example.com>", clock.now)]
    assert source.poll().status is PollStatus.unchanged

    (repo.work / "playbooks" / "rollback-workload.yaml").unlink()  # rules still point at it
    bad = repo.push("remove the rollback playbook", author=BOB)
    result = source.poll()
    assert (result.status, result.version, result.author) == (PollStatus.rejected, bad, BOB)
    assert source.current() is active  # the previous SHA stays active, the very same object
    [(sha, author, problems, _)] = recorder.rejections
    assert (sha, author) == (bad, BOB)
    assert problems == [
        "rules/bad-deploy-rollback.yaml:15: spec.then.playbook: playbook 'rollback-workload' not found",
        "rules/bad-deploy-rollback.yaml:30: spec.then.playbook: playbook 'rollback-workload' not found",
        "rules/bad-deploy-rollback.yaml:45: spec.then.playbook: playbook 'rollback-workload' not found",
        "rules/error-spike-rollback.yaml:11: spec.then.playbook: playbook 'rollback-workload' not found",
        "rules/trace-rules.yaml:17: spec.then.playbook: playbook 'rollback-workload' not found",
    ]
    assert result.problems == tuple(problems)

    assert result.message == "5 problems (commit: remove the rollback playbook)"
    again = source.poll()  # the same bad head: nothing new, recorded once, its problems still at hand
    assert again.status is PollStatus.unchanged and len(recorder.rejections) == 1
    assert (again.version, again.problems, again.message) == (bad, result.problems, result.message)

    git_restore = repo.work / "playbooks" / "rollback-workload.yaml"
    git_restore.write_text((Path(__file__).parents[2] / "playbooks" / "rollback-workload.yaml").read_text())
    fixed = repo.push("bring the playbook back")
    assert source.poll().status is PollStatus.activated
    current = source.current()
    assert current is not None and current.version.version == fixed
    assert [a[0] for a in recorder.activations] == [good, fixed]


def test_restart_with_a_bad_head_falls_back_to_the_last_recorded_good_commit(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    good = repo.push("default pack")
    recorder = MemoryRecorder()
    assert _source(repo, tmp_path, recorder).poll().status is PollStatus.activated
    (repo.work / "rules" / "crashloop-restart.yaml").write_text("kind: [\n")
    bad = repo.push("oops", author=BOB)

    restarted = _source(repo, tmp_path, recorder)  # a new process: nothing in memory, same data dir and store
    result = restarted.poll()
    assert (result.status, result.version) == (PollStatus.rejected, bad)
    assert result.problems[0].startswith("rules/crashloop-restart.yaml:2: YAML syntax error")
    active = restarted.current()
    assert active is not None and active.version.version == good
    assert active.version.author == "Alice <alice@example.com>"


def test_unreachable_remote_keeps_the_last_good_version_and_backs_off(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    good = repo.push("default pack")
    clock = Clock()
    source = _source(repo, tmp_path, MemoryRecorder(), clock=clock, poll_interval=30, retry_base=2, max_backoff=10)
    assert source.poll().retry_in == 30
    moved = repo.remote.rename(tmp_path / "gone.git")

    delays = []
    for _ in range(5):
        result = source.poll()
        assert result.status is PollStatus.unreachable
        assert "does not appear to be a git repository" in result.error
        delays.append(result.retry_in)
    assert delays == [2, 4, 8, 10, 10]
    assert source.seconds_until_due() == 10
    clock.advance(4)
    assert source.seconds_until_due() == 6
    active = source.current()
    assert active is not None and active.version.version == good

    moved.rename(repo.remote)
    result = source.poll()
    assert (result.status, result.retry_in) == (PollStatus.unchanged, 30)


def test_webhook_trigger_wakes_the_poll_loop(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    repo.push("default pack")
    source = _source(repo, tmp_path, MemoryRecorder(), poll_interval=3600)
    stop = threading.Event()
    loop = threading.Thread(target=source.run, args=(stop,), daemon=True)
    loop.start()
    try:
        assert _wait(lambda: source.current() is not None)
        assert source.seconds_until_due() > 3000
        (repo.work / "rules" / "idle-scale-down.yaml").unlink()
        newer = repo.push("no idle rule")
        source.webhook_trigger()
        assert _wait(lambda: (c := source.current()) is not None and c.version.version == newer)
        assert "idle-scale-down" not in source.current().ruleset.rules  # type: ignore[union-attr]
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive()


def _wait(condition: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_rules_path_selects_a_subdirectory_and_a_missing_path_is_rejected(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path, subdir="ops/tagent")
    sha = repo.push("pack under ops/tagent")
    ok = _source(repo, tmp_path / "a", MemoryRecorder(), path="ops/tagent").poll()
    assert (ok.status, ok.version) == (PollStatus.activated, sha)
    wrong = _source(repo, tmp_path / "b", MemoryRecorder(), path="nowhere").poll()
    assert wrong.status is PollStatus.rejected
    assert wrong.problems == ("nowhere:1: rules path is not a directory in this version",)


def test_directory_source_versions_by_content_hash(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)  # only used for its working tree: a plain directory of rules
    recorder = MemoryRecorder()
    source = RulesSource(str(repo.work), data_dir=tmp_path / "data", recorder=recorder, promtool=None)
    assert not source.is_git
    first = source.poll()
    assert first.status is PollStatus.activated and first.version.startswith("sha256:")
    assert source.poll().status is PollStatus.unchanged
    (repo.work / "rules" / "idle-scale-down.yaml").unlink()
    second = source.poll()
    assert second.status is PollStatus.activated and second.version != first.version
    (repo.work / "playbooks" / "scale-up.yaml").unlink()
    third = source.poll()
    assert third.status is PollStatus.rejected
    assert third.problems == ("rules/high-cpu-scale-up.yaml:11: spec.then.playbook: playbook 'scale-up' not found",)
    active = source.current()
    assert active is not None and active.version.version == second.version
    assert [r[0] for r in recorder.rejections] == [third.version]


def test_current_is_always_a_consistent_pair_while_versions_change(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    expected: dict[str, bool] = {repo.push("with idle rule"): True}
    source = _source(repo, tmp_path, MemoryRecorder())
    source.poll()
    seen: list[tuple[str, bool]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            active = source.current()
            assert active is not None
            seen.append((active.version.version, "idle-scale-down" in active.ruleset.rules))
            time.sleep(0.001)  # let the poller run

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    idle = repo.work / "rules" / "idle-scale-down.yaml"
    text = idle.read_text()
    for i in range(4):
        if i % 2 == 0:
            idle.unlink()
        else:
            idle.write_text(text)
        expected[repo.push(f"toggle {i}")] = i % 2 == 1
        assert source.poll().status is PollStatus.activated
    stop.set()
    reader.join(timeout=5)
    assert len({v for v, _ in seen}) >= 2
    assert all(expected[version] == has_idle for version, has_idle in seen)


def test_git_client_maps_errors_and_never_leaks_credentials(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    repo.push("default pack")
    client = GitClient(str(repo.remote), tmp_path / "clone")
    with pytest.raises(PermanentError, match="couldn't find remote ref"):
        client.fetch("no-such-branch")
    head = client.fetch("main")
    assert client.has(head.sha) and not client.has("0" * 40)
    assert (client.checkout(head.sha) / "rules" / "crashloop-restart.yaml").is_file()

    secret = "s3cr3t-t0ken"
    leaky = GitClient(f"http://user:{secret}@127.0.0.1:9/rules.git", tmp_path / "leaky",
                      token=SecretStr(secret), timeout=20)
    with pytest.raises(TransientError) as info:
        leaky.fetch("main")
    assert secret not in str(info.value) and "***@127.0.0.1" in str(info.value)


def test_from_settings_builds_a_git_source(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    sha = repo.push("default pack")
    settings = Settings(data_dir=tmp_path / "data", rules=f"file://{repo.remote}", rules_branch="main",
                        rules_poll_interval=5)
    source = RulesSource.from_settings(settings, MemoryRecorder())
    assert source.is_git and source.poll_interval == 5
    assert source.poll().version == sha


def test_a_trigger_during_a_poll_is_kept_for_the_next_one(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    repo.push("default pack")
    source = _source(repo, tmp_path, MemoryRecorder(), poll_interval=3600)

    class TriggeringRecorder(MemoryRecorder):
        def record_activation(self, version: str, author: str, at: datetime) -> None:
            super().record_activation(version, author, at)
            source.webhook_trigger()  # a push webhook arrives while this poll is still running

    source._recorder = TriggeringRecorder()
    source.poll()
    assert source.seconds_until_due() == 0
    source.poll()
    assert source.seconds_until_due() > 3000


def test_a_failing_recorder_changes_nothing_and_the_loop_survives(tmp_path: Path) -> None:
    repo = RulesRepo.create(tmp_path)
    repo.push("default pack")

    class BrokenStore(MemoryRecorder):
        calls = 0

        def record_activation(self, version: str, author: str, at: datetime) -> None:
            BrokenStore.calls += 1
            raise OSError("database is locked")

    source = _source(repo, tmp_path, BrokenStore(), poll_interval=3600, retry_base=0.05)
    with pytest.raises(OSError):
        source.poll()
    assert source.current() is None  # never active without a record of it
    stop = threading.Event()
    loop = threading.Thread(target=source.run, args=(stop,), daemon=True)
    loop.start()
    try:
        assert _wait(lambda: BrokenStore.calls >= 3)  # retried with backoff, thread alive
    finally:
        stop.set()
        loop.join(timeout=5)
    assert source.current() is None


def test_a_rejection_is_logged_once_with_every_problem(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14: the log named only the first problem of two, and repeated on every poll."""
    repo = RulesRepo.create(tmp_path)
    repo.push("default pack")
    clock = Clock()
    source = _source(repo, tmp_path, MemoryRecorder(), clock=clock)
    assert source.poll().status is PollStatus.activated
    rule = repo.work / "rules" / "crashloop-restart.yaml"
    rule.write_text(rule.read_text().replace("severity: critical", "severity: dire", 1)
                    .replace("cooldown: 10m", "cooldown: forever", 1))
    bad = repo.push("two mistakes at once", author=BOB)
    with caplog.at_level(logging.WARNING, logger="tagent.policy.gitops"):
        result = source.poll()
        for _ in range(3):
            clock.advance(60)
            assert source.poll().status is PollStatus.unchanged
    assert result.status is PollStatus.rejected and len(result.problems) == 2, result.problems
    assert result.message == "2 problems (commit: two mistakes at once)"
    [record] = [r for r in caplog.records if "rejected" in r.getMessage()]
    line = record.getMessage()
    assert line.startswith(f"rules version {bad[:12]} by {BOB} rejected, 2 problems (commit: two mistakes at once)")
    assert all(problem in line for problem in result.problems), line
