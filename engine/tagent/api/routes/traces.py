"""Traces: the OTLP/HTTP receiver (`POST /v1/traces`, the webhook token's realm) and the queries under /api/v1.

The receiver reads the body itself (the app's BodyLimits passes this path through): its own size limit before
and after gzip, then protobuf or OTLP JSON. A body it cannot use is a 4xx with one line (400 unparsable,
413 too big, 415 another content type or encoding) and nothing of it is kept; spans that fail validation are
refused alone and counted in the response's partial_success. A full writer queue is a 503 with Retry-After:
OTLP exporters retry it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tagent.api.deps import EngineDep
from tagent.app.engine import Engine
from tagent.traces.otlp import JSON, PROTOBUF, BadBody, Decoded, decode, gunzip, media_type, parse, response_body
from tagent.traces.queries import parse_window
from tagent.traces.service import Traces

OTLP_PATH = "/v1/traces"
RETRY_AFTER_S = 2
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
otlp = APIRouter(tags=["traces"])
router = APIRouter(tags=["traces"])


def traces_of(engine: Engine) -> Traces:
    traces = getattr(engine, "traces", None)
    if traces is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "traces are not available on this engine")
    return traces


def _receiving(request: Request) -> Traces:
    """The engine's Traces, or the one a receiver-only app holds (`receiver_app`)."""
    engine = getattr(request.app.state, "engine", None)
    return traces_of(engine) if engine is not None else cast(Traces, request.app.state.traces)


def _refuse(request: Request, code: int, message: str) -> JSONResponse:
    engine = getattr(request.app.state, "engine", None)
    if engine is not None:
        engine.metrics.bad_input.labels(source="otlp").inc()
    return JSONResponse(status_code=code, content={"detail": message})


def receiver_app(traces: Traces) -> FastAPI:
    """The OTLP receiver alone, without auth (the traces benchmark serves it on loopback)."""
    app = FastAPI(title="Tagent OTLP receiver", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.traces = traces
    app.include_router(otlp)
    return app


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadBody(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadBody(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(traces: Traces, body: bytes, kind: str, encoding: str) -> Decoded:
    if encoding == "gzip":
        body = gunzip(body, traces.limits.max_decompressed_bytes)
    elif len(body) > traces.limits.max_decompressed_bytes:
        raise BadBody(413, f"the body is larger than {traces.limits.max_decompressed_bytes} bytes")
    return decode(parse(body, kind), traces.sanitizer)


@otlp.post(OTLP_PATH, response_class=Response)
async def receive(request: Request) -> Response:
    """OTLP/HTTP ExportTraceServiceRequest, protobuf or JSON, optionally gzip; answers in the same encoding."""
    traces = _receiving(request)
    kind = media_type(request.headers.get("content-type"))
    if kind not in (PROTOBUF, JSON):
        return _refuse(request, 415, f"content type {kind or 'none'!r} is not {PROTOBUF} or {JSON}")
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        return _refuse(request, 415, f"content encoding {encoding!r} is not gzip or identity")
    if traces.busy():  # refused before its body is read: a flood of requests costs no memory
        return _busy()
    traces.in_flight += 1
    try:
        body = await _read(request, traces.limits.max_body_bytes)
        decoded = await run_in_threadpool(_decode, traces, body, kind, encoding)
    except BadBody as exc:
        return _refuse(request, exc.status, str(exc))
    finally:
        traces.in_flight -= 1
    if not traces.ingest(decoded):
        return _busy()
    return Response(response_body(decoded, kind), media_type=kind)


def _busy() -> JSONResponse:
    return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                        content={"detail": "the receiver is busy (its span queue is full): retry later"})


# -- queries ------------------------------------------------------------------------------------------------


def _bad(message: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, message)


@router.get("/services/{namespace}/{name}/red")
async def service_red(namespace: str, name: str, engine: EngineDep, window: str = "15m") -> dict[str, Any]:
    """Request rate, error ratio and p50/p95/p99 latency of one service over `window` (e.g. 15m)."""
    traces = traces_of(engine)
    try:
        seconds = parse_window(window)
    except ValueError as exc:
        raise _bad(str(exc)) from None
    return await run_in_threadpool(traces.red, f"{namespace}/{name}", seconds)


@router.get("/services/{namespace}/{name}/resource")
async def service_resource(namespace: str, name: str, engine: EngineDep) -> dict[str, Any]:
    """The OpenTelemetry resource attributes last seen for a service (its runtime, SDK, host ...)."""
    found = await run_in_threadpool(traces_of(engine).resource, f"{namespace}/{name}")
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no spans were ever received from {namespace}/{name}")
    return found


@router.get("/traces")
async def list_traces(
    engine: EngineDep,
    service: str | None = None,
    limit: Annotated[str, Query()] = "20",
    min_duration_ms: str | None = None,
    errors: str = "false",
    since: str | None = None,
    until: str | None = None,
    order: str = "recent",
) -> dict[str, Any]:
    """Recent or slowest traces, of one service ("namespace/name") when given, errors only when asked."""
    traces = traces_of(engine)
    try:
        count = int(limit)
        minimum = float(min_duration_ms) if min_duration_ms not in (None, "") else None
    except ValueError:
        raise _bad("limit must be an integer and min_duration_ms a number") from None
    if errors.lower() not in _TRUE + _FALSE:
        raise _bad(f"errors must be true or false, not {errors[:20]!r}")
    try:
        found = await run_in_threadpool(lambda: traces.traces(
            service=service or None, since=_when(since, "since"), until=_when(until, "until"), limit=count,
            errors=errors.lower() in _TRUE, min_duration_ms=minimum, order=order))
    except ValueError as exc:
        raise _bad(str(exc)) from None
    return {"traces": found}


@router.get("/traces/{trace_id}")
async def get_trace(trace_id: str, engine: EngineDep) -> dict[str, Any]:
    """Every span of one trace (the waterfall), by start time."""
    try:
        found = await run_in_threadpool(traces_of(engine).trace, trace_id)
    except ValueError as exc:
        raise _bad(str(exc)) from None
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no trace {trace_id}")
    return found


def _when(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"{name} {text!r} needs a time zone (e.g. Z)")
    return when
