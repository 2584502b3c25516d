"""tagent.escalation (see shared/design/ARCHITECTURE.md)."""
