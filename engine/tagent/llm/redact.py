"""Redaction: nothing secret or personal leaves Tagent for an LLM (or lands in a post-mortem).

Applied to every message by `LLMClient` itself, so no prompt path can forget it. Two kinds of knowledge:
the values Tagent knows are secret (`settings.secret_values()`: API tokens, webhook URLs, DB URL ...),
matched exactly, and patterns for what a cluster leaks into logs and events: private keys, credentials
in URLs, Authorization headers, JWTs, vendor token formats (AWS, GitHub, Slack, OpenAI, Google, Stripe),
`password=...`-style pairs, emails, IPv4/IPv6 addresses, and long high-entropy strings. Each match
becomes `[REDACTED:<kind>]`, so a reader (or the model) still sees that something was there.
Over-masking is the accepted failure mode: a masked version string costs less than a leaked key. Yet a
long token made only of structure is not a secret: ISO timestamps (and the pieces of them a token holds),
durations, canonical UUIDs, and paths or key=value pairs whose every segment is a word or a Kubernetes
name (`Deployment/payment-service`, `/var/lib/kubelet/pods`, `restartedAt=2026-12-02T03:14:07Z`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable

from tagent.settings import Settings

_NOT_MASKED = r"(?!\[REDACTED)"
_SENSITIVE_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token(?!s)|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|credentials?|auth[_-]?key|session[_-]?id|cookie|signature|sig")
_B64ISH = "A-Za-z0-9+/=_-"

# (kind, pattern, group to mask: 0 = whole match)
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("private_key", re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"), 0),
    ("url_credentials", re.compile(r"(?<=://)[^\s/@:\"'<>]+(?::[^\s/@\"'<>]*)?(?=@[^\s/@]+)"), 0),
    ("authorization", re.compile(rf"(?i)\b(?:authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?{_NOT_MASKED}"
                                 r"((?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;]+)"), 1),
    ("bearer_token", re.compile(rf"(?i)\b(?:bearer|basic)\s+{_NOT_MASKED}([A-Za-z0-9._~+/=-]{{8,}})"), 1),
    ("bearer_token", re.compile(rf"(?i)\btoken\s+{_NOT_MASKED}(?=[A-Za-z._~+/=-]*\d)([A-Za-z0-9._~+/=-]{{8,}})"), 1),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), 0),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b"), 0),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"), 0),
    ("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), 0),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), 0),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), 0),
    ("stripe_key", re.compile(r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}"), 0),
    # starts only where a name starts (the leftmost match always did: the prefix class reaches back to it);
    # without the lookbehind every position inside a word was tried, 80 us for a 45-character message
    ("secret_value", re.compile(
        rf"(?i)(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*(?:{_SENSITIVE_KEYS})[A-Za-z0-9_.-]*\\?[\"']?\s*(?:[:=]|=>)\s*{_NOT_MASKED}"
        r"(\\\"[^\n]*?\\\"|\"[^\"\n]*\"|'[^'\n]*'|(?:[^\s\"',;&}\])\\]|\\\\)+)"), 1),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), 0),
]
# literal pieces of every _SENSITIVE_KEYS word (a superset: when none is in the lowered text, secret_value
# cannot match; `in` is ~50 ns where a case-insensitive search of the alternation took ~10 us)
_SENSITIVE_HINTS = ("pass", "pwd", "secret", "token", "key", "credential", "session", "cookie", "sig")
# what each pattern cannot match without (lower case; the pattern runs when the lowered text holds any of
# them): a cheap `in` spares most of the 16 scans for the ordinary messages a storm brings
_NEEDS: dict[str, tuple[str, ...]] = {
    "private_key": ("private key",), "url_credentials": ("://",), "authorization": ("authorization",),
    "jwt": ("eyj",), "aws_access_key": ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "a3t"),
    "github_token": ("gh", "github_pat_"), "slack_token": ("xox",), "openai_key": ("sk-",),
    "google_api_key": ("aiza",), "stripe_key": ("k_live_", "k_test_"), "email": ("@",)}
_BEARER_NEEDS = (("bearer", "basic"), ("token",))  # the two bearer_token patterns, in order
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?(?![\w:])")
_TOKEN = re.compile(rf"(?<![{_B64ISH}])[{_B64ISH}]{{20,}}(?![{_B64ISH}])")
_K8S_NAME = re.compile(r"^[a-z0-9]{1,12}(?:[-_][a-z0-9]{1,12})+$")
# what a token may hold without being random: times (a token stops at ':' and '.', so a timestamp arrives
# as `2026-12-02T03`), ISO and Go durations, canonical UUIDs
_STRUCTURE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2})?|\d{8}T\d{4,6}Z?"
    r"|P(?=\d|T\d)(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?"
    r"|(?<![A-Za-z])(?:\d+(?:ms|us|ns|h|m|s|d))+(?![A-Za-z])"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# a segment between '/' or '=' that is a word: a Kubernetes-style name (lower case, digits, - _ .),
# or an identifier in camelCase / PascalCase (Deployment, StatefulSet, restartedAt)
# (chunks of at most 12, as in _K8S_NAME: a long run of lower case and digits may be a hex key)
_WORD = re.compile(r"[a-z0-9]{1,12}(?:[-_.][a-z0-9]{1,12})*|[A-Za-z][a-z]+(?:[A-Z][a-z]+)*")


def _only_structure(token: str) -> bool:
    """Whether `token` is made of times, durations, UUIDs and words joined by '/', '=' or '-' only."""
    rest = _STRUCTURE.sub("/", token)
    segments = [s for s in re.split(r"[/=]+", rest) if s.strip("-_")]
    return all(_WORD.fullmatch(s.strip("-_")) for s in segments)


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def looks_random(token: str) -> bool:
    """A long token mixing character classes with high entropy: a key, not a word or a pod name."""
    if len(token) < 20 or _K8S_NAME.match(token) or _only_structure(token):
        return False
    classes = sum(bool(re.search(p, token)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[+/=_-]"))
    if classes < 2 or (classes == 2 and len(token) < 32):
        return False
    return shannon_entropy(token) >= 3.5


class Redactor:
    """`redactor(text)` masks secrets; `known` are exact values (settings secrets) masked first."""

    def __init__(self, known: Iterable[str] = (), *, emails: bool = True, ips: bool = True) -> None:
        self.known: tuple[str, ...] = tuple(sorted({k for k in known if len(k) >= 4}, key=len, reverse=True))
        self.emails, self.ips = emails, ips

    def adding(self, values: Iterable[str]) -> Redactor:
        """A redactor that also masks `values` (e.g. the LLM API key itself)."""
        return Redactor([*self.known, *values], emails=self.emails, ips=self.ips)

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        return cls(known=settings.secret_values())

    def __call__(self, text: str) -> str:
        return self.redact(text)[0]

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """The masked text and how many items of each kind were masked."""
        found: Counter[str] = Counter()
        for value in self.known:
            if value in text:
                found["known_secret"] += text.count(value)
                text = text.replace(value, "[REDACTED:known_secret]")
        lowered, bearer = text.lower(), iter(_BEARER_NEEDS)
        keyed = any(h in lowered for h in _SENSITIVE_HINTS)  # secret_value needs one of its key words
        for kind, pattern, group in _PATTERNS:
            if (kind == "email" and not self.emails) or (kind == "secret_value" and not keyed):
                continue
            needs = next(bearer) if kind == "bearer_token" else _NEEDS.get(kind, ())
            if needs and not any(n in lowered for n in needs):
                continue
            text = pattern.sub(_masker(kind, group, found), text)
            lowered = text.lower() if found else lowered  # what was masked may hold what the next one needs
        if self.ips:
            if "." in text:
                text = _IPV4.sub(_validated(_is_ip, "ipv4", found), text)
            if text.count(":") >= 2:
                text = _IPV6.sub(_validated(_is_ipv6, "ipv6", found), text)
        text = _TOKEN.sub(_validated(looks_random, "high_entropy", found), text)
        return text, found


def _masker(kind: str, group: int, found: Counter[str]) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        found[kind] += 1
        if group == 0:
            return f"[REDACTED:{kind}]"
        start, end = m.span(group)
        offset = m.start()
        whole = m.group(0)
        return whole[: start - offset] + f"[REDACTED:{kind}]" + whole[end - offset:]
    return replace


def _validated(check: Callable[[str], bool], kind: str, found: Counter[str]) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        if not check(m.group(0)):
            return m.group(0)
        found[kind] += 1
        return f"[REDACTED:{kind}]"
    return replace


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_ipv6(text: str) -> bool:
    candidate = text.rstrip(".:") if not text.endswith("::") else text
    return sum(ch in "0123456789abcdefABCDEF" for ch in candidate) >= 2 and _is_ip(candidate)
