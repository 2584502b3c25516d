"""`tagent bench engine` and `tagent bench incidents` (they print JSON; see bench/README.md)."""

from __future__ import annotations

import typer

from tagent.cli.common import Output, OutputOpt, print_json

bench_app = typer.Typer(help="Benchmarks (they print numbers; nothing is asserted).", no_args_is_help=True)


@bench_app.command("engine", help="Synthetic events through compile + match + guard + store (SQLite), and raw"
                                  " durable_rules on the same rules. --long: 1M events and 100 rules reloads.")
def engine(
    rules: int = typer.Option(100, "--rules", min=1, max=1000, help="number of synthetic rules"),
    events: int = typer.Option(100_000, "--events", min=1, max=10_000_000, help="number of events"),
    reloads: int = typer.Option(0, "--reloads", min=0, max=10_000, help="rules versions swapped in during the run"),
    workloads: int = typer.Option(2_000, "--workloads", min=1, max=100_000, help="distinct workloads"),
    long: bool = typer.Option(False, "--long", help="the memory variant: 1,000,000 events and 100 reloads"),
    output: Output = OutputOpt,
) -> None:
    from tagent.detect.bench import run_engine_bench  # durable_rules loads only when a benchmark runs

    if long:
        events, reloads = max(events, 1_000_000), max(reloads, 100)
    result = run_engine_bench(rules=rules, events=events, reloads=reloads, workloads=workloads)
    if output == Output.json:
        print_json(result)
        return
    for key, value in result.items():
        print(f"{key}: {value}")


@bench_app.command("incidents", help="A storm of CrashLoopBackOff decisions over --workloads sandbox Deployments "
                                     "through the real engine (incident lifecycle, guard, store, playbooks).")
def incidents(
    workloads: int = typer.Option(500, "--workloads", min=1, max=3000, help="sandbox Deployments (one replica each)"),
    decisions: int = typer.Option(2000, "--decisions", min=1, max=1_000_000, help="decisions (matching events)"),
    rate: float = typer.Option(0.0, "--rate", min=0.0, help="events offered per second (0: all at once)"),
    db_url: str | None = typer.Option(None, "--db-url", help="database URL (default: SQLite in a temp dir)"),
    output: Output = OutputOpt,
) -> None:
    import tempfile
    from pathlib import Path

    from tagent.app.bench import run_incidents_bench
    from tagent.cli.bench_sandbox import sandbox_process
    from tagent.model import WorkloadRef
    from tagent.sandbox.scenario import generated_scenario

    scenario = generated_scenario(workloads, replicas=1)
    refs = [WorkloadRef(namespace=w.namespace, name=w.name) for w in scenario.spec.workloads]
    with tempfile.TemporaryDirectory(prefix="tagent-bench-") as tmp, \
            sandbox_process(scenario, Path(tmp)) as kubeconfig:  # its own process: its threads don't share our GIL
        result = run_incidents_bench(kubeconfig, refs, decisions=decisions, db_url=db_url, rate=rate)
    if output == Output.json:
        print_json(result)
        return
    for key, value in result.items():
        print(f"{key}: {value}")


@bench_app.command("traces", help="OTLP protobuf bodies from --posters processes through the real receiver "
                                  "(POST /v1/traces) into the embedded span store, then retention to --cap spans.")
def traces(
    spans: int = typer.Option(200_000, "--spans", min=1000, max=100_000_000, help="spans to send in all"),
    batch: int = typer.Option(500, "--batch", min=1, max=10_000, help="spans per request"),
    posters: int = typer.Option(3, "--posters", min=1, max=64, help="concurrent posting processes"),
    cap: int = typer.Option(100_000, "--cap", min=1, help="TAGENT_TRACES_MAX_SPANS for the retention step"),
    db_url: str | None = typer.Option(None, "--db-url", help="database URL (default: SQLite in a temp dir)"),
    output: Output = OutputOpt,
) -> None:
    from tagent.api.routes.traces import receiver_app
    from tagent.traces.bench import run_traces_bench

    result = run_traces_bench(receiver_app, spans=spans, batch=batch, posters=posters, cap=cap, db_url=db_url)
    if output == Output.json:
        print_json(result)
        return
    for key, value in result.items():
        print(f"{key}: {value}")


@bench_app.command("failover", help="Two `tagent run` replicas with leader election on one sandbox and PostgreSQL; "
                                    "a crash loop per round and the leader SIGKILLed at a random point of its "
                                    "playbook, --kills times (docs/ha.md).")
def failover(
    kills: int = typer.Option(20, "--kills", min=1, max=200, help="rounds: one crash loop and one SIGKILL each"),
    db_url: str | None = typer.Option(None, "--db-url", envvar="TAGENT_DB_URL",
                                      help="PostgreSQL URL (required; a fresh database is made on its server)"),
    pauses: int = typer.Option(0, "--pauses", min=0, max=200,
                               help="more rounds that SIGSTOP the leader and wake it once the other one leads"),
    seed: int = typer.Option(18, "--seed", help="random seed for the kill points"),
    output: Output = OutputOpt,
) -> None:
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tagent.cli.bench_failover import fresh_database, run_failover_bench
    from tagent.cli.bench_sandbox import sandbox_process
    from tagent.cli.common import fail
    from tagent.sandbox.scenario import generated_scenario

    if not db_url or not db_url.startswith("postgresql"):
        fail("bench failover needs PostgreSQL (two replicas share it): pass --db-url postgresql+psycopg://... "
             "or set TAGENT_DB_URL")
    scenario = generated_scenario(kills + pauses, replicas=1, per_namespace=kills + pauses)
    targets = [(w.namespace, w.name) for w in scenario.spec.workloads]
    url, drop = fresh_database(db_url)
    try:
        with tempfile.TemporaryDirectory(prefix="tagent-failover-") as tmp, \
                sandbox_process(scenario, Path(tmp), speed=10.0) as kubeconfig:
            def inject(ns: str, name: str) -> None:
                subprocess.run([sys.executable, "-m", "tagent", "sandbox", "inject", "crashloop", "--target",
                                f"{ns}/{name}", "--kubeconfig", str(kubeconfig)], check=True, capture_output=True,
                               timeout=60)
            result = run_failover_bench(kubeconfig, url, targets, Path(tmp), kills=kills, pauses=pauses, seed=seed,
                                        inject=inject)
    finally:
        drop()
    if output == Output.json:
        print_json(result)
        return
    for key, value in result.items():
        print(f"{key}: {value}")


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
