"""`tagent chat` end to end against the sandbox cluster, with a real SQLite store.

The three seed examples of issue 5 run as real subprocesses (confirmation by --yes, by piped input, typed
names for deletes, the exact --output json shape of CLI.md). Refusals, --dry-run, bad input and the LLM
fallback configured through the environment (whose local server must never receive a secret typed into the
chat) run the same command in-process through typer's CliRunner, which is much cheaper than a new
interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tagent.cli.main import app
from tagent.clients.kubernetes import KubeClient
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.store import Store
from tests.chat.test_service import cluster_state

CONTRACT_KEYS = ["intent", "target", "params", "command", "requires_confirmation", "answer"]


@pytest.fixture
def kube(kubeconfig: Path) -> Iterator[KubeClient]:
    client = KubeClient.from_kubeconfig(kubeconfig)
    yield client
    client.close()


def tagent_chat(kubeconfig: Path, tmp_path: Path, text: str, *args: str, stdin: str | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAGENT_", "OPENAI_"))}
    cmd = [sys.executable, "-m", "tagent", "chat", text, "--kubeconfig", str(kubeconfig),
           "--db", f"sqlite:///{tmp_path / 'chat.db'}", "--user", "alice", *args]
    return subprocess.run(cmd, input=stdin, stdin=subprocess.DEVNULL if stdin is None else None, text=True,
                          capture_output=True, timeout=120, cwd=tmp_path, env={**clean, **(env or {})})


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def in_process(kubeconfig: Path, tmp_path: Path, text: str, *args: str, stdin: str | None = None,
               env: dict[str, str] | None = None) -> Ran:
    runner = CliRunner(env={**{k: None for k in os.environ if k.startswith(("TAGENT_", "OPENAI_"))}, **(env or {})})
    result = runner.invoke(app, ["chat", text, "--kubeconfig", str(kubeconfig), "--db",
                                 f"sqlite:///{tmp_path / 'chat.db'}", "--user", "alice", *args], input=stdin)
    return Ran(result.exit_code, result.stdout, result.stderr)


def contract(done: subprocess.CompletedProcess[str] | Ran) -> dict[str, Any]:
    data = json.loads(done.stdout)  # stdout is the JSON and nothing else
    assert list(data) == CONTRACT_KEYS
    return dict(data)


def audit(tmp_path: Path) -> list[tuple[str, str, str]]:
    with Store.open(f"sqlite:///{tmp_path / 'chat.db'}") as store:
        return [(r.actor, r.action, r.result) for r in reversed(store.audit.list())]


def test_how_many_servers_text_and_json(kubeconfig: Path, tmp_path: Path) -> None:
    text = tagent_chat(kubeconfig, tmp_path, "How many servers are running right now?")
    assert text.returncode == 0, text.stderr
    assert text.stdout.strip() == ("3 nodes are running, all Ready: node-a (Ready), node-b (Ready), "
                                   "node-c (Ready).")
    done = in_process(kubeconfig, tmp_path, "How many servers are running right now?", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert contract(done) == {
        "intent": "get", "target": {"kind": "node", "namespace": "", "name": ""}, "params": {},
        "command": "kubectl get nodes", "requires_confirmation": False,
        "answer": "3 nodes are running, all Ready: node-a (Ready), node-b (Ready), node-c (Ready).",
    }
    assert audit(tmp_path) == [("chat:alice", "chat.request", "answered")] * 2


def test_scale_with_yes_and_json(kubeconfig: Path, tmp_path: Path, kube: KubeClient) -> None:
    done = tagent_chat(kubeconfig, tmp_path, "Scale the payment-service to 10 replicas.", "--yes", "--output", "json")
    assert done.returncode == 0, done.stderr
    data = contract(done)
    assert data["intent"] == "scale" and data["requires_confirmation"] is True
    assert data["target"] == {"kind": "Deployment", "namespace": "shop", "name": "payment-service"}
    assert data["params"] == {"replicas": 10}
    assert data["command"] == "kubectl scale deployment/payment-service -n shop --replicas=10"
    assert data["answer"].startswith("Done: scaled deployment/payment-service from 2 to 10 replicas")
    assert "Scale shop/payment-service from 2 to 10 replicas" in done.stderr  # the summary, off stdout
    assert kube.get_deployment("shop", "payment-service").replicas == 10
    assert audit(tmp_path) == [("chat:alice", "chat.request", "confirm"), ("chat:alice", "kubernetes.scale", "ok"),
                               ("chat:alice", "chat.confirm", "done")]


@pytest.mark.parametrize(("answer", "replicas", "code"), [("y\n", 10, 0), ("n\n", 2, 1), (None, 2, 1)],
                         ids=["yes", "no", "no-stdin"])
def test_scale_asks_on_stdin(kubeconfig: Path, tmp_path: Path, kube: KubeClient, answer: str | None,
                             replicas: int, code: int) -> None:
    run = tagent_chat if answer is not None else in_process  # an empty stdin is the same refusal either way
    done = run(kubeconfig, tmp_path, "Scale the payment-service to 10 replicas.", stdin=answer)
    assert done.returncode == code, done.stdout + done.stderr
    assert "kubectl scale deployment/payment-service -n shop --replicas=10" in done.stdout
    assert "Proceed?" in done.stdout
    assert kube.get_deployment("shop", "payment-service").replicas == replicas
    if answer is None:
        assert "Pass --yes" in done.stdout
    outcome = {0: "done", 1: "declined"}[code]
    assert audit(tmp_path)[-1] == ("chat:alice", "chat.confirm", outcome)


def test_delete_asks_for_the_name_typed_back(kubeconfig: Path, tmp_path: Path, kube: KubeClient) -> None:
    text = "Delete the test environment deployment."
    wrong = in_process(kubeconfig, tmp_path, text, stdin="y\ntest\n")
    assert wrong.returncode == 1 and "type the name test-env exactly" in wrong.stdout
    yes_only = in_process(kubeconfig, tmp_path, text, "--yes")
    assert yes_only.returncode == 1 and "--confirm-name test-env" in yes_only.stdout
    assert [w.ref.name for w in kube.list_workloads("test")] == ["test-env"]

    done = tagent_chat(kubeconfig, tmp_path, text, stdin="y\ntest-env\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kubectl delete deployment/test-env -n test" in done.stdout
    assert "Done: deleted deployment" in done.stdout
    assert kube.list_workloads("test") == []


def test_delete_with_yes_and_confirm_name(kubeconfig: Path, tmp_path: Path, kube: KubeClient) -> None:
    done = in_process(kubeconfig, tmp_path, "test environment ko hata do", "--yes", "--confirm-name", "test-env",
                       "--output", "json")
    assert done.returncode == 0, done.stderr
    assert contract(done)["command"] == "kubectl delete deployment/test-env -n test"
    assert kube.list_workloads("test") == []


def test_refusals_and_questions_change_nothing(kubeconfig: Path, tmp_path: Path, kube: KubeClient) -> None:
    before = cluster_state(kube)
    protected = in_process(kubeconfig, tmp_path, "restart coredns in kube-system", "--yes", "--output", "json")
    assert protected.returncode == 1
    assert "namespace kube-system is protected" in contract(protected)["answer"]
    gibberish = in_process(kubeconfig, tmp_path, "asdf qwerty zxcv", "--yes", "--output", "json")
    assert gibberish.returncode == 0
    assert contract(gibberish) == {"intent": "unknown", "target": None, "params": {}, "command": None,
                                   "requires_confirmation": False,
                                   "answer": contract(gibberish)["answer"]}
    assert "did not understand" in contract(gibberish)["answer"]
    dry = in_process(kubeconfig, tmp_path, "scale frontend to 6", "--dry-run")
    assert dry.returncode == 0 and "Dry-run" in dry.stdout and "Proceed?" not in dry.stdout
    assert cluster_state(kube) == before
    results = [row[2] for row in audit(tmp_path) if row[1] != "kubernetes.scale"]
    assert results == ["refused", "question", "confirm", "dry_run"]


def test_bad_input_is_one_line_never_a_traceback(kubeconfig: Path, tmp_path: Path) -> None:
    missing = in_process(tmp_path / "nope.yaml", tmp_path, "how many nodes")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_the_llm_fallback_from_settings_never_receives_a_secret(kubeconfig: Path, tmp_path: Path) -> None:
    def restart_payment(_: dict[str, Any]) -> dict[str, Any]:
        return {"content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "restart", "arguments": '{"namespace": "shop", "name": "payment-service"}'}}]}

    secret = "ghp_" + "Zx9" * 12
    with OpenAIReceiver(restart_payment, api_key="sk-local-" + "q" * 24) as llm:
        env = {"TAGENT_LLM_BASE_URL": llm.api_base, "TAGENT_LLM_API_KEY": "sk-local-" + "q" * 24,
               "TAGENT_LLM_MODEL": "sandbox-model"}
        done = in_process(kubeconfig, tmp_path, f"payment-service needs a fresh start, use {secret} and "
                           "password=Hunter2Secret!", "--dry-run", "--output", "json", env=env)
        received = llm.received_text()
    assert done.returncode == 0, done.stderr
    assert contract(done)["intent"] == "restart"  # the model's proposal was used, after validation
    assert received and "payment-service needs a fresh start" in received
    assert secret not in received and "Hunter2Secret" not in received
