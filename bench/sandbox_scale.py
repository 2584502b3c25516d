"""Sandbox scale benchmark: `python bench/sandbox_scale.py [--workloads 3000 --replicas 2 --speed 10]`.

Starts the sandbox with a generated cluster of N Deployments (`generated_scenario`), injects a crash
loop into one of them and waits, through the Kubernetes API as the engine would (the official client,
a label-selected pod list), until one of its pods reports CrashLoopBackOff. Prints one JSON object:

- `start_s`: wall seconds for `Sandbox.start()` (building and settling the cluster, the API answering);
- `fault_to_condition_s`: wall seconds from the injection to CrashLoopBackOff seen through the API (the
  fault itself takes about 4 sandbox seconds: a crash, the immediate first restart, a second crash);
- `tick_s`: mean wall seconds of one simulation tick in the settled cluster (the controllers, the
  kubelet and the traffic of every pod), which bounds how quickly anything becomes visible.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from kubernetes import client, config

from tagent.sandbox import Sandbox, kinds
from tagent.sandbox.scenario import generated_scenario


def crashlooping(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    for pod in core.list_namespaced_pod(namespace, label_selector=f"app={name}").items:
        for status in (pod.status.container_statuses if pod.status else None) or []:
            waiting = status.state.waiting if status.state else None
            if waiting is not None and waiting.reason == "CrashLoopBackOff":
                return True
    return False


def run(workloads: int, replicas: int, speed: float, timeout: float) -> dict[str, object]:
    scenario = generated_scenario(workloads, replicas=replicas)
    load_start = os.getloadavg()[0]
    cpu0, t0 = time.process_time(), time.monotonic()
    sb = Sandbox(scenario=scenario, speed=speed, seed=1)
    sb.start()
    start_s = time.monotonic() - t0
    try:
        ticks = []
        for _ in range(3):
            t = time.monotonic()
            sb.simulation.tick()
            ticks.append(time.monotonic() - t)
        target = scenario.spec.workloads[workloads // 2]
        with TemporaryDirectory() as tmp:
            api = config.new_client_from_config(config_file=str(sb.write_kubeconfig(Path(tmp) / "kubeconfig")))
            core = client.CoreV1Api(api)
            t1 = time.monotonic()
            sb.inject("crashloop", target.namespace, target.name)
            seen = None
            while time.monotonic() - t1 < timeout:
                if crashlooping(core, target.namespace, target.name):
                    seen = time.monotonic() - t1
                    break
                time.sleep(0.05)
            api.close()
        return {"workloads": workloads, "pods": sb.store.count(kinds.PODS), "replicas": replicas, "speed": speed,
                "start_s": round(start_s, 2),
                "fault_to_condition_s": round(seen, 2) if seen is not None else None,
                "tick_s": round(sum(ticks) / len(ticks), 3), "cpu_s": round(time.process_time() - cpu0, 1),
                "load_avg_start": round(load_start, 2), "load_avg_end": round(os.getloadavg()[0], 2)}
    finally:
        sb.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=3000)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--speed", type=float, default=10.0, help="sandbox seconds per wall second")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up waiting for the condition")
    args = parser.parse_args()
    if args.workloads < 1:
        sys.exit("sandbox_scale: --workloads must be at least 1")
    print(json.dumps(run(args.workloads, args.replicas, args.speed, args.timeout), indent=2))


if __name__ == "__main__":
    main()
