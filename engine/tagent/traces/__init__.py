"""Traces: the OTLP intake, the embedded span store and the queries (RED per service, trace lists) that the
API, the rules and the dashboard read. It sits just above the other effects because it keeps its spans in the
store's database; Tempo or Jaeger replace the embedded store on large clusters."""

from tagent.traces.service import Traces

__all__ = ["Traces"]
