"""Building the CLI stays cheap: a command's heavy dependencies load only when that command runs.

Every `tagent` process (and every CLI test that starts one) pays for what `tagent.cli.main` imports.
Each test runs a fresh interpreter and lists which heavy packages ended up in `sys.modules`: a
structural check, not a timed one (timings depend on the machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Seconds of imports between them; none is needed to parse arguments or print help.
HEAVY = ("kubernetes", "sqlalchemy", "alembic", "durable", "fastapi", "uvicorn", "streamlit", "plotly", "openai",
         "apprise", "twilio", "git", "redis", "prometheus_client", "tagent.store", "tagent.actions.base",
         "tagent.sandbox")

# Runs `tagent ARGS...` in this interpreter, then prints the heavy modules it imported as JSON.
PROBE = """
import json, sys
from tagent.cli.main import main
heavy, args = json.loads(sys.argv[1]), sys.argv[2:]
sys.argv = ["tagent", *args]
code = 0
if args:
    try:
        main()
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}), file=sys.stderr)
"""


def probe(*args: str) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY), *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    result = json.loads(done.stderr.strip().splitlines()[-1])
    return int(result["code"] or 0), list(result["loaded"])


def test_building_the_cli_imports_no_heavy_package() -> None:
    code, loaded = probe()
    assert code == 0
    assert loaded == [], f"importing tagent.cli.main loads {loaded}: import them inside the command function"


def test_help_imports_no_heavy_package() -> None:
    code, loaded = probe("--help")
    assert code == 0
    assert loaded == []


def test_subcommand_help_imports_no_heavy_package() -> None:
    for args in (("sandbox", "inject", "--help"), ("incidents", "list", "--help"), ("chat", "--help")):
        code, loaded = probe(*args)
        assert (code, loaded) == (0, []), args


def test_validate_reads_the_catalog_without_the_store_or_clients() -> None:
    code, loaded = probe("validate", str(REPO / "rules"), str(REPO / "playbooks"))
    assert code == 0, "the repository's rules and playbooks should be valid"
    assert loaded == [], f"`tagent validate` loads {loaded}"


def test_sandbox_inject_loads_the_sandbox_but_not_the_engine(tmp_path: Path) -> None:
    missing = tmp_path / "no-such.kubeconfig"
    code, loaded = probe("sandbox", "inject", "crashloop", "--target", "shop/web", "--kubeconfig", str(missing))
    assert code == 1  # the kubeconfig does not exist: one-line error
    assert loaded == ["tagent.sandbox"]


def test_inject_help_lists_exactly_the_sandbox_faults() -> None:
    from tagent.cli.sandbox_cmd import FAULT_NAMES
    from tagent.sandbox import FAULTS

    assert FAULT_NAMES == FAULTS, "update FAULT_NAMES in tagent/cli/sandbox_cmd.py to match tagent.sandbox.FAULTS"
