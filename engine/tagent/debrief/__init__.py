"""tagent.debrief (see shared/design/ARCHITECTURE.md)."""
