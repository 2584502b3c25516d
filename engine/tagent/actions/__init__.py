"""tagent.actions (see shared/design/ARCHITECTURE.md)."""
