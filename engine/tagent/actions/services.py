"""Actions on things beside the cluster: Redis, an HTTP endpoint, Prometheus, and plain waiting."""

from __future__ import annotations

import operator
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import redis
import redis.exceptions

from tagent.actions.base import ActionContext, BaseAction
from tagent.clients.prometheus import PrometheusClient
from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.model import StepResult, WorkloadRef
from tagent.model.policy import NAMED_METRICS
from tagent.sources.metrics import AGGREGATE, default_queries

OPS: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                                  ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


class RedisFlushDb(BaseAction):
    """FLUSHDB on the configured Redis (the "clear the cache" fix). Repeating it after a crash is harmless:
    the database is empty either way."""

    name = "redis.flushdb"

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        return WorkloadRef(kind="Redis", name=f"db{values['db']}")

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        url = self.need(self.deps.redis_url, "redis_url")
        timeout = max(1.0, min(10.0, ctx.remaining()))
        client = redis.Redis.from_url(url, db=values["db"], socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            keys = int(client.dbsize())
            client.flushdb()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise TransientError(f"redis FLUSHDB on db {values['db']}: {type(exc).__name__}: {exc}") from exc
        except redis.exceptions.RedisError as exc:
            raise PermanentError(f"redis FLUSHDB on db {values['db']}: {exc}") from exc
        finally:
            client.close()
        return self.ok(f"flushed redis db {values['db']} ({keys} keys)", keys=keys)


class HttpRequest(BaseAction):
    """Call an allow-listed HTTP endpoint (e.g. an app's cache purge). Every call carries an
    `Idempotency-Key` unique to the run and step, so a call repeated after a crash can be recognised by a
    server that honours it (IETF draft-ietf-httpapi-idempotency-key-header)."""

    name = "http.request"

    def _host(self, url: str) -> tuple[str, str]:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentError(f"http.request: {url!r} is not an absolute http(s) URL")
        host = parts.hostname
        port = f"{host}:{parts.port}" if parts.port else host
        allowed = self.deps.allowed_http_hosts
        if host not in allowed and port not in allowed:
            raise PermanentError(f"http.request: host {port} is not in allowed_http_hosts "
                                 f"({', '.join(allowed) or 'empty'})")
        return host, port

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        host = urllib.parse.urlsplit(values["url"]).hostname or "?"
        return WorkloadRef(kind="HTTP", name=host)

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        self._host(values["url"])
        return {"idempotency_key": ctx.step_key or f"{ctx.run_id or 'adhoc'}:{self.deps.clock().timestamp()}"}

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        _, host = self._host(values["url"])
        headers = {**values["headers"], "Idempotency-Key": plan["idempotency_key"]}
        timeout = max(1.0, min(30.0, ctx.remaining()))
        try:
            with httpx.Client(transport=self.deps.http_transport, timeout=timeout) as client:
                response = client.request(values["method"], values["url"], headers=headers,
                                          content=values["body"] or None)
        except httpx.TimeoutException as exc:
            raise TransientError(f"http.request {values['method']} {host}: timed out after {timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"http.request {values['method']} {host}: {type(exc).__name__}: {exc}") from exc
        code = response.status_code
        wanted = values["expect_status"]
        good = code == wanted if wanted else 200 <= code < 300
        detail = f"{values['method']} {host}{urllib.parse.urlsplit(values['url']).path} answered HTTP {code}"
        if good:
            return self.ok(detail, status_code=code)
        if code >= 500 or code == 429:
            raise TransientError(detail)
        return self.failed(detail, status_code=code, mutated=False)


class PrometheusVerify(BaseAction):
    """Poll until a condition holds: a PromQL expression, or a named workload metric (`error_rate`,
    `cpu_utilization`, ... of RULES.md) of the target, compared with `op value`."""

    name = "prometheus.verify"

    def _value(self, prom: PrometheusClient, query: str, ctx: ActionContext) -> float | None:
        if query in NAMED_METRICS:
            samples = prom.query(default_queries()[query])
            target = ctx.target
            mine = [s.value for s in samples if s.labels.get("namespace") == target.namespace
                    and s.labels.get("pod", "").startswith(target.name + "-")]
            return AGGREGATE[query](mine) if mine else None
        samples = prom.query(query)
        if len(samples) > 1:
            raise PermanentError(f"prometheus.verify: {query!r} returned {len(samples)} series; it must return one")
        return samples[0].value if samples else None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        prom: PrometheusClient = self.need(self.deps.prometheus, "prometheus_url")
        compare, threshold = OPS[values["op"]], float(values["value"])
        limit = min(float(values["within"]), ctx.remaining())
        condition = f"{values['query']} {values['op']} {threshold:g}"
        checks, last = 0, None
        while True:
            checks += 1
            try:
                last = self._value(prom, values["query"], ctx)
            except TransientError:
                last = None
            if last is not None and compare(last, threshold):
                return self.ok(f"{condition} holds (value {last:g})", value=last, checks=checks)
            elapsed = ctx.timeout - ctx.remaining()
            if elapsed >= limit or ctx.expired():
                seen = "no value" if last is None else f"last value {last:g}"
                return self.failed(f"{condition} did not hold within {limit:g}s ({seen})", value=last, checks=checks)
            if self.wait(ctx, min(self.deps.poll_interval, max(0.0, limit - elapsed))):
                return self.failed(f"interrupted while verifying {condition}", checks=checks)


class Wait(BaseAction):
    name = "wait"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        duration = float(values["duration"])
        if duration > ctx.timeout:
            raise ConfigError(f"wait {duration:g}s is longer than the step's timeout {ctx.timeout:g}s")
        if ctx.stop.wait(duration):
            return self.failed(f"interrupted after {ctx.timeout - ctx.remaining():.1f}s of {duration:g}s")
        return self.ok(f"waited {duration:g}s")
