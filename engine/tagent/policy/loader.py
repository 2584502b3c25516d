"""Safe YAML loading that remembers where every key and item came from.

Rules arrive from Git pushes by people we do not control, so the loader is deliberately narrow: plain
mappings, sequences and scalars only (no Python or custom tags, no anchors or aliases, so no alias
bombs), a size and nesting limit, strict UTF-8 text. Every value keeps its line so that each problem,
however deep, is reported as `path:line: message` (shared/design/RULES.md, "Validation").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tagent.policy.problems import Loc, Problem

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}


@dataclass(frozen=True)
class SourceDoc:
    """One YAML document: plain Python data plus the line of every key and sequence item in it."""

    path: str
    line: int
    data: Any
    lines: Mapping[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Line of `loc`, or of its deepest ancestor that exists (a missing key points at its parent)."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(tuple(loc[:end]))
            if found is not None:
                return found
        return self.line


class _Reject(Exception):
    """Something the safe subset does not allow, at a given line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer refuses anchors, aliases and deep nesting before any node is built."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, yaml.AliasEvent):
            raise _Reject(line, f"aliases (*{event.anchor}) are not allowed")
        if getattr(event, "anchor", None) is not None:
            raise _Reject(line, f"anchors (&{event.anchor}) are not allowed")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Reject(line, f"nesting deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


def _key(node: Node) -> str:
    if not isinstance(node, ScalarNode):
        raise _Reject(node.start_mark.line + 1, "mapping keys must be plain strings")
    if node.tag == _STD + "merge":
        raise _Reject(node.start_mark.line + 1, "merge keys (<<) are not allowed")
    if node.tag not in _SCALAR_TAGS and node.tag != _STD + "timestamp":
        raise _Reject(node.start_mark.line + 1, f"tag {_tag_name(node.tag)} is not allowed")
    # The raw text, not the YAML 1.1 value: `on:` or `yes:` stay the strings people meant.
    return str(node.value)


def _convert(loader: _Loader, node: Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    """Plain data from a node; records the line of every child under its location."""
    if isinstance(node, MappingNode):
        if node.tag != _STD + "map":
            raise _Reject(node.start_mark.line + 1, f"tag {_tag_name(node.tag)} is not allowed")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key in out:
                raise _Reject(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _convert(loader, value_node, (*loc, key), lines)
        return out
    if isinstance(node, SequenceNode):
        if node.tag != _STD + "seq":
            raise _Reject(node.start_mark.line + 1, f"tag {_tag_name(node.tag)} is not allowed")
        items = []
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            items.append(_convert(loader, item, (*loc, i), lines))
        return items
    assert isinstance(node, ScalarNode)
    if node.tag == _STD + "timestamp":
        return str(node.value)  # dates stay text; no field of the format is a date
    if node.tag not in _SCALAR_TAGS:
        raise _Reject(node.start_mark.line + 1, f"tag {_tag_name(node.tag)} is not allowed")
    return loader.yaml_constructors[node.tag](loader, node)


def parse_text(text: str, path: str) -> tuple[list[SourceDoc], list[Problem]]:
    """Every non-empty document of a (multi-document) YAML text, or the first problem that stops parsing."""
    docs: list[SourceDoc] = []
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader already rejects control characters here
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[Loc, int] = {(): node.start_mark.line + 1}
            data = _convert(loader, node, (), lines)
            if data is not None:
                docs.append(SourceDoc(path, node.start_mark.line + 1, data, lines))
    except _Reject as exc:
        return docs, [Problem(path, exc.line, exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or "invalid YAML"
        if exc.context and exc.context_mark is not None:
            what += f" ({exc.context} at line {exc.context_mark.line + 1})"
        return docs, [Problem(path, line, f"YAML syntax error: {what}")]
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        return docs, [Problem(path, line, f"character {char!r} is not allowed in YAML")]
    except yaml.YAMLError as exc:  # any other PyYAML complaint still becomes one line
        return docs, [Problem(path, 1, f"YAML error: {exc}")]
    finally:
        if loader is not None:
            loader.dispose()
    return docs, []


def decode(raw: bytes, path: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text of a file's bytes, or one clear problem for binary or mis-encoded content."""
    if len(raw) > MAX_BYTES:
        return None, [Problem(path, 1, f"file is larger than {MAX_BYTES // 1024} KiB; split it")]
    if b"\x00" in raw:
        return None, [Problem(path, raw[: raw.index(b"\x00")].count(b"\n") + 1, "binary file, not YAML text")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")]


def read_file(file: Path, display: str | None = None) -> tuple[list[SourceDoc], list[Problem]]:
    """Documents of one file; never raises for bad content (size, encoding, syntax become problems)."""
    path = display if display is not None else str(file)
    try:
        with file.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return [], [Problem(path, 1, f"cannot read file: {exc.strerror or exc}")]
    text, problems = decode(raw, path)
    if text is None:
        return [], problems
    return parse_text(text, path)
