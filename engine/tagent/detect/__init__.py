"""tagent.detect: rules compiled into durable_rules rulesets; Events in, Decisions out.

The only package that imports `durable` (an import-linter contract). Public API:

    Detector(rules, version, clock=utcnow, protected_namespaces=("kube-system",))
        .process(event) -> list[Decision]     thread-safe; unmatched events give []
        .swap(rules, version) -> None         atomic; a version that does not compile never activates
        .version -> str, .stats() -> DetectorStats, .close()
    compile_plan(rules, version, protected) -> Plan   (what `swap` compiles; raises ValidationError)
"""

from tagent.detect.compiler import Plan, compile_plan
from tagent.detect.detector import Clock, Detector, DetectorStats

__all__ = ["Clock", "Detector", "DetectorStats", "Plan", "compile_plan"]
