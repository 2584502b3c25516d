"""`tagent sandbox up|inject|faults`: run the local sandbox cluster and break it on purpose."""

from __future__ import annotations

import json
import logging
import signal
import ssl
import threading
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import ConfigError, ValidationError

# The fault names for `inject --help`, copied from tagent.sandbox.FAULTS: importing the sandbox (its API
# server, simulation, pydantic models) at module level would cost every `tagent` start ~0.4 s.
# tests/test_cli_startup.py fails if the two ever differ; `inject` itself checks against the real list.
FAULT_NAMES: tuple[str, ...] = ("crashloop", "oom", "error-spike", "bad-deploy", "bad-image", "load", "idle", "latency",
                                "heal")
DEFAULT_KUBECONFIG = Path(".tagent/sandbox.kubeconfig")
KubeconfigOpt = typer.Option(DEFAULT_KUBECONFIG, "--kubeconfig", envvar="KUBECONFIG",
                             help="kubeconfig of the running sandbox (written by `tagent sandbox up`)")



class ControlPlaneKind(StrEnum):
    emulator = "emulator"
    real = "real"


sandbox_app = typer.Typer(help="The local sandbox cluster: a Kubernetes API with simulated workloads.",
                          no_args_is_help=True)


@sandbox_app.command("up")
def up(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="port on 127.0.0.1 (0: any free port)"),
    kubeconfig_out: Path = typer.Option(DEFAULT_KUBECONFIG, "--kubeconfig-out", help="where to write the kubeconfig"),
    scenario: Path | None = typer.Option(None, "--scenario", help="scenario YAML (default: the built-in shop)"),
    speed: float = typer.Option(1.0, "--speed", min=0.01, max=10000.0, help="sandbox seconds per wall second"),
    seed: int | None = typer.Option(None, "--seed", help="random seed, for a repeatable simulation"),
    control_plane: ControlPlaneKind = typer.Option(
        ControlPlaneKind.emulator, "--control-plane",
        help="emulator: the built-in API server (no Go needed); real: etcd, kube-apiserver, controller manager "
             "and scheduler built by scripts/control-plane.sh, with a simulated kubelet as their client"),
    otlp_endpoint: str | None = typer.Option(
        None, "--otlp-endpoint", metavar="URL",
        help="where the simulated services send their spans (OTLP/HTTP); default: the engine API of your "
             "settings, http://127.0.0.1:<api port>/v1/traces; `off`: no traces"),
    otlp_token: str | None = typer.Option(
        None, "--otlp-token", help="bearer token for the OTLP endpoint (default: the webhook token of your "
                                   "settings, else the API token, when set)"),
) -> None:
    """Start the sandbox cluster in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if control_plane == ControlPlaneKind.real:
        if speed != 1.0:
            fail("--speed applies to the emulator only: the real control plane keeps wall-clock time", code=2)
        if otlp_endpoint not in (None, "off"):
            fail("--otlp-endpoint applies to the emulator only: the real control plane's pods send no spans", code=2)
        _up_real(port, kubeconfig_out, scenario, seed)
        return
    from tagent.sandbox import Sandbox

    endpoint, token = _otlp(otlp_endpoint, otlp_token)
    try:
        sb = Sandbox(port=port, speed=speed, scenario=scenario, seed=seed, otlp_endpoint=endpoint, otlp_token=token,
                     otlp_wall_time=True)  # `tagent run` keeps wall time, however fast the sandbox runs
        sb.start()
    except ValidationError as exc:
        fail("; ".join(exc.problems[:3]))
    except ConfigError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
    stop = _stop_on_signals()
    try:
        path = sb.write_kubeconfig(kubeconfig_out)
        print(f"sandbox cluster {sb.scenario.metadata.name!r} at {sb.https_url} (speed {speed:g}x)", flush=True)
        print(f"kubeconfig: {path}    export KUBECONFIG={path.resolve()}", flush=True)
        print(f"prometheus metrics: {sb.metrics_url}", flush=True)
        print(f"traces (OTLP/HTTP): {endpoint or 'off'}", flush=True)
        stop.wait()
    except OSError as exc:
        fail(f"cannot write the kubeconfig {kubeconfig_out}: {exc.strerror or exc}")
    finally:
        sb.stop()
    print("sandbox stopped", flush=True)


def _otlp(endpoint: str | None, token: str | None) -> tuple[str | None, str | None]:
    """The OTLP endpoint and token: as given, else the local engine API of the settings (its port, and its
    webhook or API token), so `tagent run` and `tagent sandbox up` find each other without flags."""
    if endpoint is not None and endpoint.lower() in ("off", "none", ""):
        return None, None
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        fail(f"--otlp-endpoint {endpoint!r}: use an http(s) URL such as http://127.0.0.1:8080/v1/traces, or off",
             code=2)
    if endpoint is not None and token is not None:
        return endpoint, token
    import pydantic

    from tagent.errors import TagentError
    from tagent.settings import Settings

    try:
        settings = Settings()
    except (pydantic.ValidationError, TagentError):  # the settings are the engine's business: plain defaults
        return endpoint or "http://127.0.0.1:8080/v1/traces", token
    secret = settings.webhook_token or settings.api_token
    return (endpoint or f"http://127.0.0.1:{settings.api_port}/v1/traces",
            token if token is not None else (secret.get_secret_value() if secret else None))


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    return stop


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _up_real(port: int, kubeconfig_out: Path, scenario: Path | None, seed: int | None) -> None:
    from tagent.errors import ExternalError
    from tagent.sandbox.real.cluster import RealSandbox

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per readiness poll
    signal.signal(signal.SIGTERM, _interrupt)  # while starting, SIGTERM unwinds like Ctrl-C: everything stops
    try:
        sb = RealSandbox(port=port, scenario=scenario, seed=seed)
        sb.start()
    except KeyboardInterrupt:
        fail("interrupted while starting; everything started was stopped", code=130)
    except ValidationError as exc:
        fail("; ".join(exc.problems[:3]))
    except (ConfigError, ExternalError) as exc:
        fail(str(exc))
    stop = _stop_on_signals()
    try:
        path = sb.write_kubeconfig(kubeconfig_out)
        cp = sb.control_plane
        print(f"sandbox cluster {sb.scenario.metadata.name!r} on a real control plane at {sb.server} "
              f"(started in {cp.started_in:.1f} s; binaries {cp.bin}; state {cp.dir})", flush=True)
        print(f"kubeconfig: {path}    export KUBECONFIG={path.resolve()}", flush=True)
        print(f"prometheus metrics: {sb.metrics_url}", flush=True)
        stop.wait()
    except OSError as exc:
        fail(f"cannot write the kubeconfig {kubeconfig_out}: {exc.strerror or exc}")
    finally:
        sb.stop()
    print("sandbox stopped", flush=True)


def _request(path: Path, method: str, url_path: str, body: dict[str, Any] | None = None) -> Any:
    """One authenticated request to the server a kubeconfig names (an httpx.Response); errors become one line."""
    import httpx

    from tagent.sandbox import kubeconfig

    try:
        server, token, ca = kubeconfig.read(path)
    except ConfigError as exc:
        fail(str(exc))
    verify: ssl.SSLContext | bool = True
    if ca is not None:
        verify = ssl.create_default_context(cadata=ca.decode())
    try:
        resp = httpx.request(method, server.rstrip("/") + url_path, json=body, verify=verify, timeout=10,
                             headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        fail(f"cannot reach the sandbox at {server} ({exc.__class__.__name__}): is `tagent sandbox up` running?")
    if resp.status_code == 401:
        fail(f"the server at {server} refused the kubeconfig's token (is it a sandbox kubeconfig?)")
    return resp


def _call(path: Path, method: str, url_path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the emulator's own API (/sandbox/v1); its JSON answer, or a one-line failure."""
    resp = _request(path, method, url_path, body)
    server = str(resp.request.url.copy_with(path="/", query=None)).rstrip("/")
    try:
        data = resp.json()
    except json.JSONDecodeError:
        fail(f"{server} did not answer like a sandbox (HTTP {resp.status_code})")
    if resp.status_code >= 400:
        fail(str(data.get("message") or f"HTTP {resp.status_code}"))
    return data


def _params(values: list[str]) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError
            params[key] = float(raw)
        except ValueError:
            fail(f"--param {item!r}: use NAME=NUMBER, e.g. rate=0.5", code=2)
    return params


@sandbox_app.command("inject")
def inject(
    fault: str = typer.Argument(..., help=f"one of: {', '.join(FAULT_NAMES)}", metavar="FAULT"),
    target: str = typer.Option(..., "--target", help="NAMESPACE/NAME of a Deployment or StatefulSet"),
    kubeconfig_path: Path = KubeconfigOpt,
    param: list[str] = typer.Option([], "--param", help="fault parameter NAME=NUMBER (e.g. rate=0.5)"),
    output: Output = OutputOpt,
) -> None:
    """Inject a fault into a workload of the running sandbox (`heal` clears them)."""
    from tagent.sandbox import FAULTS

    if fault not in FAULTS:
        fail(f"unknown fault {fault!r}: use one of {', '.join(FAULTS)}", code=2)
    ns, _, name = target.partition("/")
    if not ns or not name or "/" in name:
        fail(f"--target {target!r}: use NAMESPACE/NAME, e.g. shop/payment-service", code=2)
    params = _params(param)
    if _is_real(kubeconfig_path):
        data = _real(kubeconfig_path, lambda f: f.inject(fault, ns, name, params))
    else:
        data = _call(kubeconfig_path, "POST", "/sandbox/v1/faults",
                     {"fault": fault, "namespace": ns, "name": name, "params": params})
    if output == Output.json:
        print_json(data)
    else:
        print(f"{fault} injected into {data.get('kind', 'workload').lower()}/{name} in namespace {ns}")


@sandbox_app.command("faults")
def faults(kubeconfig_path: Path = KubeconfigOpt, output: Output = OutputOpt) -> None:
    """List the faults active in the running sandbox."""
    if _is_real(kubeconfig_path):
        items = _real(kubeconfig_path, lambda f: f.active())
    else:
        items = _call(kubeconfig_path, "GET", "/sandbox/v1/faults").get("items", [])
    if output == Output.json:
        print_json(items)
        return
    for f in items:
        print(f"{f['namespace']}/{f['workload']}\t{f['name']}\t{f['params']}\tsince {f['injected_at']}")
    if not items:
        print("no active faults")


def _is_real(path: Path) -> bool:
    """The emulator serves /sandbox/v1; a real API server (`--control-plane real`) answers 404 there."""
    resp = _request(path, "GET", "/sandbox/v1/clock")
    return bool(resp.status_code == 404)


def _real(path: Path, call: Any) -> Any:
    """Run `call(RealFaults)` against the real API server the kubeconfig names; errors become one line."""
    from tagent.clients.kubernetes import KubeClient
    from tagent.errors import ExternalError
    from tagent.sandbox.real.faults import RealFaults

    try:
        kube = KubeClient.from_kubeconfig(path)
    except ConfigError as exc:
        fail(str(exc))
    try:
        return call(RealFaults(kube))
    except ValidationError as exc:
        fail(str(exc))
    except ExternalError as exc:
        fail(str(exc))
    finally:
        kube.close()


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
