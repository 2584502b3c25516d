"""Reading the repository's Markdown the way the tests need it: fenced blocks, links, headed sections."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What users read: the README, docs/ and the chart's README (plus the sandbox's, which docs/ links to).
USER_DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "charts" / "tagent" / "README.md")

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(?P<level>#{1,6}) (?P<title>.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    start: int  # offset of the opening fence in the text
    marker: str  # the line just before the fence (an HTML comment marks special blocks)


def blocks(text: str) -> list[Block]:
    out = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        out.append(Block(m.group("lang"), m.group("body"), m.start(), before))
    return out


def without_blocks(text: str) -> str:
    """The text with every fenced block blanked out (same length, so offsets and line numbers stay)."""
    return _FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def links(text: str) -> list[str]:
    """Targets of Markdown links outside code blocks."""
    return [m.group("target") for m in _LINK.finditer(without_blocks(text))]


def sections(text: str, level: int) -> dict[str, str]:
    """Title -> text up to the next heading of the same or a higher level, for headings of `level`."""
    masked = without_blocks(text)  # a `# comment` in a shell block is no heading
    heads = [(m.start(), len(m.group("level")), m.group("title")) for m in _HEADING.finditer(masked)]
    found: dict[str, str] = {}
    for i, (start, lvl, title) in enumerate(heads):
        if lvl != level:
            continue
        end = next((s for s, other, _ in heads[i + 1:] if other <= level), len(text))
        found[title] = text[start:end]
    return found
