"""Deliver a message to named apprise routes, with retries, fallback and no hidden failure.

Routes are `settings.notify_urls`: a name (as used in an EscalationPolicy) mapped to a secret apprise
URL. Each route is tried up to `attempts` times with exponential backoff. A route that fails several
sends in a row is "down" for `cooldown` seconds and skipped at once (no retry storm at 2 AM); the message
then falls back to the next route. `strategy="all"` (default) sends to every route and tells the later
routes which earlier ones could not be reached; `strategy="first"` is an escalation chain that stops at
the first route that delivers. Every outcome is returned as a `DeliveryResult`; when no route at all
delivered, `DeliveryError` is raised carrying the results. URLs appear only masked, in results and logs.
`min_interval` overrides apprise's own spacing of requests to one service (None keeps apprise's
per-service default, which protects real services' rate limits; local receivers need no spacing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import apprise
from pydantic import SecretStr

from tagent.errors import ConfigError, ExternalError
from tagent.notify.masking import SecretMaskingFilter, mask_text, url_secrets
from tagent.notify.message import Message, NotifyKind
from tagent.settings import Settings

log = logging.getLogger(__name__)
Strategy = Literal["all", "first"]


@dataclass(frozen=True)
class DeliveryResult:
    route: str
    delivered: bool
    attempts: int  # requests actually made (0 when skipped)
    target: str  # the route's URL, masked
    error: str = ""  # why it failed or was skipped, masked
    skipped: bool = False  # channel down or unknown: nothing was attempted


class DeliveryError(ExternalError):
    """No route delivered the message. `results` says what happened on each."""

    def __init__(self, message: str, results: list[DeliveryResult]) -> None:
        super().__init__(message)
        self.results = results


@dataclass
class _Route:
    name: str
    client: apprise.Apprise
    masked: str
    consecutive_failures: int = 0
    down_until: float = 0.0


class Notifier:
    """Named apprise routes. Use `close()` (or `with`) to remove the log-masking filter it installs."""

    def __init__(self, urls: Mapping[str, SecretStr], *, attempts: int = 3, backoff: float = 0.5,
                 max_backoff: float = 8.0, trip_after: int = 3, cooldown: float = 300.0, timeout: float = 15.0,
                 min_interval: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        if attempts < 1:
            raise ConfigError("notify attempts must be at least 1")
        self.attempts, self.backoff, self.max_backoff = attempts, backoff, max_backoff
        self.trip_after, self.cooldown, self.timeout = trip_after, cooldown, timeout
        self.min_interval = min_interval
        self._sleep, self._clock = sleep, clock
        secrets: set[str] = set()
        for url in urls.values():
            secrets |= url_secrets(url.get_secret_value())
        self.secrets = frozenset(secrets)
        self._filter = SecretMaskingFilter(self.secrets)
        self._filter.install()  # before apprise parses anything: its parse errors echo the URL
        self._routes: dict[str, _Route] = {}
        try:
            for name, url in urls.items():
                self._routes[name] = self._load(name, url.get_secret_value())
        except ConfigError:
            self.close()
            raise

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Notifier:
        options.setdefault("min_interval", settings.notify_min_interval)
        return cls(settings.notify_urls, **options)

    def _load(self, name: str, url: str) -> _Route:
        client = apprise.Apprise()
        if not client.add(url):
            scheme = url.partition("://")[0] or "?"
            raise ConfigError(f"notify route {name!r}: apprise cannot use this {scheme}:// URL (check its format)")
        plugin = next(iter(client))
        if self.min_interval is not None:
            # apprise spaces requests to one service (5.5 s by default, e.g. Teams); local receivers need not wait
            plugin.request_rate_per_sec = self.min_interval
        return _Route(name=name, client=client, masked=self.mask(plugin.url(privacy=True)))

    def mask(self, text: str) -> str:
        return mask_text(text, self.secrets)

    @property
    def routes(self) -> list[str]:
        return list(self._routes)

    def describe(self) -> dict[str, str]:
        """Route name -> masked URL, safe to print or show in the dashboard."""
        return {name: route.masked for name, route in self._routes.items()}

    def check(self, route_names: Iterable[str]) -> None:
        """Raise ConfigError naming every route that is not configured (call when a policy loads)."""
        missing = [n for n in route_names if n not in self._routes]
        if missing:
            raise ConfigError(f"notify routes not configured in notify_urls: {', '.join(missing)}")

    def close(self) -> None:
        self._filter.uninstall()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------------------
    def send_message(self, route_names: Iterable[str], message: Message, *,
                     strategy: Strategy = "all") -> list[DeliveryResult]:
        return self.send(route_names, message.title, message.body, message.incident_url,
                         kind=message.kind, strategy=strategy)

    def send(self, route_names: Iterable[str], title: str, body: str, incident_url: str, *,
             kind: NotifyKind = NotifyKind.warning, strategy: Strategy = "all") -> list[DeliveryResult]:
        """Deliver to the routes in order; one result per route tried; DeliveryError when none delivered."""
        names = list(dict.fromkeys(route_names))
        if not names:
            raise ConfigError("no notification route given")
        if incident_url and incident_url not in body:
            body = f"{body}\n\nIncident: {incident_url}"
        results: list[DeliveryResult] = []
        for name in names:
            unreachable = [r.route for r in results if not r.delivered]
            text = body if not unreachable else f"{body}\n\n(Could not reach: {', '.join(unreachable)}.)"
            result = self._deliver(name, title, text, kind)
            results.append(result)
            if result.delivered and strategy == "first":
                break
        if not any(r.delivered for r in results):
            detail = "; ".join(f"{r.route}: {r.error}" for r in results)
            raise DeliveryError(f"notification not delivered to any route ({detail})", results)
        return results

    def _deliver(self, name: str, title: str, body: str, kind: NotifyKind) -> DeliveryResult:
        route = self._routes.get(name)
        if route is None:
            log.error("notify route %s is not configured", name)
            return DeliveryResult(name, False, 0, "", "not configured in notify_urls", skipped=True)
        now = self._clock()
        if route.down_until > now:
            error = (f"channel down after {route.consecutive_failures} failed sends; "
                     f"next try in {route.down_until - now:.0f}s")
            log.warning("notify route %s (%s) skipped: %s", name, route.masked, error)
            return DeliveryResult(name, False, 0, route.masked, error, skipped=True)
        error = ""
        for attempt in range(1, self.attempts + 1):
            ok, error = self._attempt(route, title, body, kind)
            if ok:
                route.consecutive_failures, route.down_until = 0, 0.0
                log.info("notification delivered to %s (%s) on attempt %d", name, route.masked, attempt)
                return DeliveryResult(name, True, attempt, route.masked)
            log.warning("notification to %s (%s) failed on attempt %d/%d: %s",
                        name, route.masked, attempt, self.attempts, error)
            if attempt < self.attempts:
                self._sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
        route.consecutive_failures += 1
        if route.consecutive_failures >= self.trip_after:
            route.down_until = self._clock() + self.cooldown
            log.error("notify route %s (%s) marked down for %.0fs after %d failed sends",
                      name, route.masked, self.cooldown, route.consecutive_failures)
        return DeliveryResult(name, False, self.attempts, route.masked, error)

    def _attempt(self, route: _Route, title: str, body: str, kind: NotifyKind) -> tuple[bool, str]:
        try:
            outcome = route.client.notify(body=body, title=title, notify_type=apprise.NotifyType(kind.value),
                                          body_format=apprise.NotifyFormat.MARKDOWN, timeout=self.timeout)
        except apprise.exception.AppriseException as exc:
            return False, self.mask(f"apprise refused the message: {exc}")
        if outcome:
            return True, ""
        reasons = [entry.message for service in outcome for entry in service.logs()]
        return False, self.mask("; ".join(reasons) or f"delivery failed ({outcome.status.name})")
