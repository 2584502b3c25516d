"""tagent.guard (see shared/design/ARCHITECTURE.md)."""
