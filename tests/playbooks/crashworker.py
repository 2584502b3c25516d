"""A zygote for the crash test: imports Tagent once, then forks one engine process per line on stdin.

    python -m tests.playbooks.crashworker DB_URL KUBECONFIG
    stdin:  {"run_id": "..."}            -> forks a child that executes (or resumes) that run
    stdin:  {"wait": PID}                -> reaps that child
    stdout: "pid <pid>" when forked, "exit <pid> <code>" when reaped (-9: killed)

Forking a single-threaded, fully imported process makes each "engine start" cost milliseconds instead
of the seconds a fresh interpreter needs, so the test can kill and restart an engine 20 times quickly.
Each child builds its own store, cluster client, guard and runner, exactly as `tagent run` would after a
restart, with the same engine identity (a restarted engine reclaims its own runs at once).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tagent.actions import ActionDeps, build_registry
from tagent.clients.kubernetes import KubeClient
from tagent.guard import Guard
from tagent.playbooks import PlaybookRunner
from tagent.settings import Settings
from tagent.store import Store

OWNER = "crash-engine"


def engine(db_url: str, kubeconfig: str, run_id: str) -> int:
    settings = Settings(data_dir=Path(kubeconfig).parent, restart_min_interval=0.0, rate_limit_global_per_hour=10_000,
                        rate_limit_namespace_per_hour=10_000, blast_radius_pod_fraction=1.0,
                        blast_radius_workloads_per_window=100)
    store = Store.open(db_url)
    kube = KubeClient.from_kubeconfig(kubeconfig)
    deps = ActionDeps(store=store, guard=Guard(store, settings), kube=kube, poll_interval=0.03)
    runner = PlaybookRunner(store, build_registry(deps), owner=OWNER, stale_after=30.0)
    outcome = runner.execute(run_id)
    return 0 if outcome.status.value == "succeeded" else 3


def warm_up(db_url: str, kubeconfig: str) -> None:
    """Do every lazy import (alembic, dialects, kubeconfig loading) once here, not in each child; close
    everything again so that no connection is shared with a child."""
    store = Store.open(db_url)
    store.runs.list(limit=1)
    store.close()
    KubeClient.from_kubeconfig(kubeconfig).close()


def main() -> None:
    db_url, kubeconfig = sys.argv[1], sys.argv[2]
    warm_up(db_url, kubeconfig)
    for line in sys.stdin:  # single-threaded on purpose: forking is only safe without other threads
        if not line.strip():
            continue
        command = json.loads(line)
        if "wait" in command:
            _, status = os.waitpid(int(command["wait"]), 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(f"exit {command['wait']} {code}", flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = engine(db_url, kubeconfig, command["run_id"])
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)


if __name__ == "__main__":
    main()
