"""The safe YAML loader: line numbers everywhere, nothing but plain data, one clear line for bad files."""

from __future__ import annotations

import time
from pathlib import Path

from tagent.policy.loader import MAX_BYTES, MAX_DEPTH, parse_text, read_file


def _one_problem(text: str) -> str:
    _, problems = parse_text(text, "x.yaml")
    assert len(problems) == 1, problems
    return str(problems[0])


def test_every_key_and_item_keeps_its_line() -> None:
    text = (
        "apiVersion: tagent.io/v1\n"  # 1
        "kind: Playbook\n"  # 2
        "spec:\n"  # 3
        "  steps:\n"  # 4
        "    - action: wait\n"  # 5
        "      with:\n"  # 6
        "        duration: 5s\n"  # 7
        "    - {action: notify.send,\n"  # 8
        "       with: {message: hi}}\n"  # 9
    )
    (doc,), problems = parse_text(text, "p.yaml")
    assert problems == []
    assert doc.line == 1
    assert doc.lines[("spec",)] == 3
    assert doc.lines[("spec", "steps", 0)] == 5
    assert doc.lines[("spec", "steps", 0, "with", "duration")] == 7
    assert doc.lines[("spec", "steps", 1)] == 8
    assert doc.lines[("spec", "steps", 1, "with", "message")] == 9
    # a location that does not exist points at its deepest existing ancestor
    assert doc.line_of(("spec", "steps", 1, "with", "nope")) == 9
    assert doc.line_of(("spec", "params")) == 3
    assert doc.data["spec"]["steps"][0]["with"] == {"duration": "5s"}


def test_multi_document_files_keep_file_lines_and_skip_empty_documents() -> None:
    text = "a: 1\n---\n---\n# only a comment\n---\nb:\n  c: [1, 2]\n"
    docs, problems = parse_text(text, "m.yaml")
    assert problems == []
    assert [d.data for d in docs] == [{"a": 1}, {"b": {"c": [1, 2]}}]
    assert docs[1].line == 6
    assert docs[1].lines[("b", "c", 1)] == 7


def test_python_and_custom_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    problem = _one_problem(f'a: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert problem == "x.yaml:1: tag !!python/object/apply:os.system is not allowed"
    assert not marker.exists()
    assert _one_problem("a: 1\nb: !Ref thing\n") == "x.yaml:2: tag !Ref is not allowed"
    assert _one_problem("a: !!binary aGVsbG8=\n") == "x.yaml:1: tag !!binary is not allowed"
    assert _one_problem("!!set {a, b}\n") == "x.yaml:1: tag !!set is not allowed"
    assert _one_problem("!!python/name:os.system {}\n").endswith("tag !!python/name:os.system is not allowed")


def test_alias_bomb_is_refused_at_the_first_anchor_quickly() -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    rows += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    started = time.monotonic()
    assert _one_problem("\n".join(rows) + "\n") == "x.yaml:1: anchors (&a) are not allowed"
    assert time.monotonic() - started < 5
    assert _one_problem("base: {a: 1}\nother:\n  <<: {b: 2}\n") == "x.yaml:3: merge keys (<<) are not allowed"


def test_duplicate_keys_and_complex_keys_are_errors() -> None:
    assert _one_problem("a: 1\nb: 2\na: 3\n") == "x.yaml:3: duplicate key 'a'"
    assert _one_problem("? [a, b]\n: 1\n") == "x.yaml:1: mapping keys must be plain strings"


def test_keys_stay_text_while_values_follow_yaml() -> None:
    (doc,), _ = parse_text("on: yes\n1: 2021-01-01\nn: ~\nf: 1.5\n", "k.yaml")
    assert doc.data == {"on": True, "1": "2021-01-01", "n": None, "f": 1.5}


def test_too_deep_nesting_is_one_line_not_a_crash() -> None:
    text = "[" * (MAX_DEPTH * 100) + "]" * (MAX_DEPTH * 100) + "\n"
    assert _one_problem(text) == f"x.yaml:1: nesting deeper than {MAX_DEPTH} levels"


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * MAX_BYTES + b"\n")
    docs, problems = read_file(big, "big.yaml")
    assert docs == []
    assert [str(p) for p in problems] == ["big.yaml:1: file is larger than 1024 KiB; split it"]


def test_encoding_problems_are_one_line_with_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("a: 1\nb: café\n".encode("latin-1"))
    assert [str(p) for p in read_file(latin1, "l.yaml")[1]] == [
        "l.yaml:2: not valid UTF-8 (byte 0xe9); save the file as UTF-8"]
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"a: 1\n\x00\x00\xff")
    assert [str(p) for p in read_file(binary, "b.yaml")[1]] == ["b.yaml:2: binary file, not YAML text"]
    control = tmp_path / "c.yaml"
    control.write_bytes(b"a: 1\nb: \x07\n")
    assert [str(p) for p in read_file(control, "c.yaml")[1]] == ["c.yaml:2: character '\\x07' is not allowed in YAML"]
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffa: é\n".encode())
    docs, problems = read_file(bom)
    assert problems == [] and docs[0].data == {"a": "é"}


def test_unreadable_path_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    docs, problems = read_file(tmp_path, "dir.yaml")
    assert docs == [] and len(problems) == 1
    assert str(problems[0]).startswith("dir.yaml:1: cannot read file: ")


def test_syntax_errors_point_at_the_problem_line() -> None:
    assert _one_problem("a:\n  b: [1, 2\n  c: 3\n") == (
        "x.yaml:3: YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence at line 2)")
    assert _one_problem("a: b\n\tc: d\n") == (
        "x.yaml:2: YAML syntax error: found character '\\t' that cannot start any token")
