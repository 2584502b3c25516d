"""Child processes that die with their parent, and the dashboard's port (no Streamlit import here).

`tagent dashboard` runs Streamlit, and `tagent demo` runs `tagent dashboard`; an orphaned Streamlit kept the
port, so the next demo printed the old URL of a dead dashboard. Every child here:

- asks the kernel for SIGTERM when its parent dies (`prctl(PR_SET_PDEATHSIG)`, set between fork and exec:
  this covers a SIGKILLed parent, which can run no cleanup), and checks it was not orphaned before that;
- runs in its own process group, which `stop` signals as a whole (SIGTERM, then SIGKILL after a grace).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import IO

from tagent.errors import ConfigError

PR_SET_PDEATHSIG = 1
Proc = subprocess.Popen[bytes]


def _death_signal_hook() -> Callable[[], None] | None:
    """A pre-exec hook for the child: SIGTERM when the parent dies. Resolved in the parent (the hook runs
    between fork and exec, where loading a library is not safe), None where prctl does not exist."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl: nobody will send the signal
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def spawn(command: Sequence[str], env: Mapping[str, str] | None = None, output: int | IO[bytes] | None = None
          ) -> Proc:
    """Start `command` in its own process group, to receive SIGTERM when this process dies; `output` takes
    its stdout and stderr (default: this process's)."""
    return subprocess.Popen(list(command), env=env, start_new_session=True, preexec_fn=_death_signal_hook(),
                            stdout=output, stderr=subprocess.STDOUT if output is not None else None)


def stop(proc: Proc, grace: float = 10.0) -> None:
    """SIGTERM to the child's whole group, SIGKILL after `grace` seconds; reaps the child."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):  # stragglers the child left behind
            os.killpg(proc.pid, signal.SIGKILL)
        return


def port_in_use(address: str, port: int) -> bool:
    """Whether a server already listens on address:port (SO_REUSEADDR: a closed socket's TIME_WAIT is free)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return True
    return False


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on at the moment (the kernel's choice)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def dashboard_port(address: str, wanted: int) -> int:
    """`wanted` when it is free, a free port when it is 0; a port in use is a ConfigError naming it."""
    if wanted == 0:
        return free_port(address)
    if port_in_use(address, wanted):
        raise ConfigError(f"port {wanted} on {address} is in use (another dashboard or demo still running?): "
                          "stop it or pass another --port (0 picks a free one)")
    return wanted
