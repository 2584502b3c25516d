"""Label and field selectors, as in `?labelSelector=app=x,tier in (a,b)&fieldSelector=spec.nodeName=n`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tagent.sandbox.apierrors import ApiError

Predicate = Callable[[dict[str, Any]], bool]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p for p in parts if p.strip()]


LabelTest = Callable[[dict[str, str]], bool]


def _equals(key: str, value: str, negate: bool) -> LabelTest:
    return lambda labels: (labels.get(key) == value) != negate


def _exists(key: str, negate: bool) -> LabelTest:
    return lambda labels: (key in labels) != negate


def _member(key: str, allowed: set[str], negate: bool) -> LabelTest:
    return lambda labels: (labels.get(key) in allowed) != negate


def _field(path: str, value: str, negate: bool) -> Predicate:
    return lambda obj: (field_value(obj, path) == value) != negate


def label_selector(text: str | None) -> Callable[[dict[str, str]], bool]:
    """A predicate over a label dict; raises ApiError(400) on a malformed selector."""
    if not text:
        return lambda labels: True
    tests: list[LabelTest] = []
    for part in _split(text):
        eq = _EQ.match(part)
        if eq:
            key, op, value = eq.groups()
            tests.append(_equals(key, value, op == "!="))
            continue
        st = _SET.match(part)
        if not st:
            raise ApiError(400, f"unable to parse requirement: {part.strip()!r}")
        neg, key, op, values = st.groups()
        if op is None:
            tests.append(_exists(key, bool(neg)))
            continue
        if neg:
            raise ApiError(400, f"unable to parse requirement: {part.strip()!r}")
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        tests.append(_member(key, allowed, op == "notin"))
    return lambda labels: all(t(labels) for t in tests)


def selector_string(match_labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def matches_selector(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector object (`matchLabels` and `matchExpressions`) against labels."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_selector(text: str | None) -> Predicate:
    """`metadata.name=x,status.phase!=Running`; any dotted field of the object may be used."""
    if not text:
        return lambda obj: True
    tests: list[Predicate] = []
    for part in _split(text):
        m = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise ApiError(400, f"invalid field selector: {part.strip()!r}")
        path, op, value = m.groups()
        tests.append(_field(path, value, op == "!="))
    return lambda obj: all(t(obj) for t in tests)
