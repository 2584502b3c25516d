"""Spans (the embedded trace store) and the last resource attributes seen per service (runtime detection).

Times are integer microseconds since the epoch (`start_us`, `end_us`): ingest writes tens of thousands of spans
a second, and an integer needs no conversion on the way in and compares the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base, BigId

SERVICE = 510  # "namespace/name": a namespace (63) and a service.name of up to 446 characters
SPAN_NAME = 255


class SpanRow(Base):
    """One span. `service` is "namespace/name"; `parent_span_id` is "" for a root span; `status` is OTLP's
    status code (0 unset, 1 ok, 2 error); `error` is status error or an HTTP status of 500 and above."""

    __tablename__ = "spans"
    __table_args__ = (
        Index("ix_spans_service_start_us", "service", "start_us"),
        Index("uq_spans_trace_id_span_id", "trace_id", "span_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    parent_span_id: Mapped[str] = mapped_column(String(16), default="")
    service: Mapped[str] = mapped_column(String(SERVICE))
    name: Mapped[str] = mapped_column(String(SPAN_NAME), default="")
    kind: Mapped[int] = mapped_column(SmallInteger, default=0)
    start_us: Mapped[int] = mapped_column(BigInteger, index=True)
    end_us: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
    error: Mapped[bool] = mapped_column(Boolean, default=False)
    http_status: Mapped[int | None] = mapped_column(Integer)
    # requests this span stands for: 1 / its sampling probability (OpenTelemetry's `ot=th:` threshold in the
    # trace state), so rates computed from sampled spans are the service's rates, not the sample's
    weight: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SpanResourceRow(Base):
    """The resource attributes last seen for a service (telemetry.sdk.language, process.runtime.name, ...)."""

    __tablename__ = "span_resources"

    service: Mapped[str] = mapped_column(String(SERVICE), primary_key=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seen: Mapped[datetime]
