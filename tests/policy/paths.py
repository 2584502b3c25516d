"""Where the repository and its test data are (tests run from any working directory)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "data" / "broken"
TAGENT = REPO / ".venv" / "bin" / "tagent"


def expected_broken_lines() -> list[str]:
    """The `# expect: LINE: MESSAGE` header of every broken file, as the exact line validate must print."""
    lines = []
    for file in sorted(BROKEN.iterdir()):
        header = file.read_bytes().split(b"\n", 1)[0].decode("ascii")
        if header.startswith("# expect: "):
            lines.append(f"tests/data/broken/{file.name}:{header[len('# expect: '):]}")
    return lines
