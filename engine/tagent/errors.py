"""The Tagent error tree. Every name says what the caller should do next.

    TagentError                    base; never raised directly
    ├── ConfigError                settings or wiring are wrong: fix configuration, do not retry
    ├── ValidationError            user input (YAML, CLI argument, API body) is invalid: report it
    │                              with `path:line: message` and keep the last good state
    ├── ExternalError              something outside Tagent failed
    │   ├── TransientError         retry later (with backoff); `delay` is a hint in seconds
    │   └── PermanentError         retrying will not help (404, 403, 422 ...): give up and report
    └── GuardRefusal               the guard said no: record the reason, mutate nothing

Callers catch the narrowest class that changes what they do; nothing catches `Exception` to hide it.
"""

from __future__ import annotations


class TagentError(Exception):
    """Base of every error Tagent raises on purpose."""


class ConfigError(TagentError):
    """Configuration is wrong or incomplete; retrying will not help."""


class ValidationError(TagentError):
    """Invalid user input. `problems` holds one `path:line: message` string per problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems if problems is not None else [message]


class ExternalError(TagentError):
    """A dependency outside Tagent (cluster, Git, Prometheus, a notifier) failed."""


class TransientError(ExternalError):
    """Retry later. `delay` suggests how many seconds to wait first."""

    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(ExternalError):
    """Retrying will not help; report and give up."""


class GuardRefusal(TagentError):
    """The guard refused an action. `reason` is a short machine-friendly code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
