"""`tagent validate` as people run it: the real console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.policy.paths import REPO, TAGENT, expected_broken_lines


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TAGENT), "validate", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_default_pack_is_silent_and_exits_zero() -> None:
    done = _run("rules", "playbooks")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = _run("rules", "playbooks", "--output", "json")
    assert (done.returncode, json.loads(done.stdout)) == (0, [])


def test_broken_directory_prints_one_line_per_problem_and_exits_one() -> None:
    done = _run("tests/data/broken")
    assert done.returncode == 1 and done.stderr == ""
    assert done.stdout.splitlines() == expected_broken_lines()


def test_json_output_lists_path_line_message() -> None:
    done = _run("-o", "json", "tests/data/broken")
    assert done.returncode == 1
    items = json.loads(done.stdout)
    assert [f"{i['path']}:{i['line']}: {i['message']}" for i in items] == expected_broken_lines()
    assert all(set(i) == {"path", "line", "message"} and isinstance(i["line"], int) for i in items)


def test_single_files_and_yml_suffix_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text(
        "apiVersion: tagent.io/v1\nkind: EscalationPolicy\nmetadata: {name: default}\nspec: {ack_timeout: 0s}\n")
    (tmp_path / "notes.txt").write_text("not yaml: [")
    done = _run(str(tmp_path))
    assert done.stdout == f"{tmp_path}/policy.yml:4: spec.ack_timeout: must be greater than 0\n"
    done = _run(str(tmp_path / "policy.yml"))
    assert done.returncode == 1 and done.stdout.count("\n") == 1


def test_missing_path_is_one_clear_error_line() -> None:
    done = _run("rules", "no-such-dir")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: no such file or directory: no-such-dir\n"


def test_hostile_files_never_produce_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "huge.yaml").write_bytes(b"a: '" + b"x" * (1024 * 1024 + 10) + b"'\n")
    (tmp_path / "deep.yaml").write_text("[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "bomb.yaml").write_text("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
    (tmp_path / "latin1.yaml").write_bytes("a: caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty.yaml").write_text("")
    done = _run(str(tmp_path))
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"{tmp_path}/bomb.yaml:1: anchors (&a) are not allowed",
        f"{tmp_path}/deep.yaml:1: nesting deeper than 64 levels",
        f"{tmp_path}/huge.yaml:1: file is larger than 1024 KiB; split it",
        f"{tmp_path}/latin1.yaml:1: not valid UTF-8 (byte 0xe9); save the file as UTF-8",
    ]


def test_templates_reaching_for_private_attributes_are_rejected(tmp_path: Path) -> None:
    """Issue 14: `__class__` and `_x` passed validation; the sandbox refused them only at render time."""
    (tmp_path / "p.yaml").write_text("""\
apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: escape}
spec:
  steps:
    - action: kubernetes.scale
      with:
        replicas: "{{ event.__class__ }}"
    - action: notify.send
      with:
        message: "{{ target|attr('_sa_instance_state') }} {{ event['__init__'] }}"
""")
    (tmp_path / "r.yaml").write_text("""\
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: sneaky}
spec:
  when:
    kubernetes: {reason: CrashLoopBackOff}
  then:
    playbook: note
    params: {note: "{{ event._x }}"}
---
apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: note}
spec:
  params:
    note: {type: string, default: ""}
  steps:
    - action: notify.send
      with: {message: "{{ params.note }}"}
""")
    done = _run(str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    suffix = ": names starting with _ are not available to templates"
    assert lines == [
        f"{tmp_path}/p.yaml:8: spec.steps[0].with.replicas: template reaches for '__class__'{suffix}",
        f"{tmp_path}/p.yaml:11: spec.steps[1].with.message: template reaches for '_sa_instance_state'{suffix}",
        f"{tmp_path}/r.yaml:9: spec.then.params.note: template reaches for '_x'{suffix}",
    ], done.stdout
