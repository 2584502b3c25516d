"""Keep notification secrets out of every log line.

An apprise URL is a credential: Slack tokens live in its host and path, Teams workflow ids and signatures
in its path, passwords in its userinfo, header tokens in its query. apprise masks its own URLs with
`url(privacy=True)`, but plugins log request URLs at DEBUG (e.g. "JSON POST URL: http://host/services/
T/B/TOKEN") and so do urllib3 and requests ("POST /services/T/B/TOKEN"). So Tagent works out the secret
pieces of each URL itself and installs a `logging.Filter` on those libraries' loggers that replaces them
with `****` in every record, whatever the level.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable

MASK = "****"
# Query keys whose values are switches, not credentials (apprise's common URL arguments).
_PLAIN_KEYS = frozenset({
    "format", "overflow", "method", "verify", "image", "wrap", "pa", "mode", "footer", "rto", "cto", "retry",
    "wait", "optional", "ver", "emojis", "store", "tz", "priority", "avatar", "color", "include_image",
})
_HOSTNAME = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost)$")
# Loggers that may print a request URL: apprise itself, the HTTP stack under it, and Twilio's client.
LEAKY_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.util.retry", "requests", "twilio.http_client")


def url_secrets(url: str) -> set[str]:
    """The pieces of an apprise URL that must never be printed: userinfo, token-like host, path, query values."""
    found: set[str] = set()
    _scheme, sep, rest = url.partition("://")
    if not sep:
        return {url} if url else set()
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        found.update(p for p in userinfo.split(":") if p)
    host = hostport.rsplit(":", 1)[0] if not hostport.startswith("[") else hostport
    if host and not _HOSTNAME.match(host):
        found.add(host)  # e.g. slack://TOKEN_A/TOKEN_B/TOKEN_C keeps a token where the host would be
    found.update(seg for seg in path.split("/") if len(seg) >= 4)
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if len(value) >= 6 and key.lower() not in _PLAIN_KEYS and not key.startswith(":"):
            found.add(value)
    decoded = {urllib.parse.unquote(s) for s in found}
    encoded = {urllib.parse.quote(s, safe="") for s in found | decoded}
    return {s for s in found | decoded | encoded if s}


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (longest first, so a prefix never leaves a tail behind) with `****`."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretMaskingFilter(logging.Filter):
    """Rewrites a log record so that none of `secrets` survives in its formatted message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = frozenset(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: mask its raw template instead
            message = str(record.msg)
        masked = mask_text(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and record.exc_info[1] is not None:
            # exception text is formatted later by handlers; pre-format and mask it now
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True

    def install(self, logger_names: Iterable[str] = LEAKY_LOGGERS) -> None:
        for name in logger_names:
            logging.getLogger(name).addFilter(self)

    def uninstall(self, logger_names: Iterable[str] = LEAKY_LOGGERS) -> None:
        for name in logger_names:
            logging.getLogger(name).removeFilter(self)
