"""tagent.store (see shared/design/ARCHITECTURE.md)."""
