"""tagent.app (see shared/design/ARCHITECTURE.md)."""
