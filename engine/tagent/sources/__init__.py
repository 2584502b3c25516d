"""tagent.sources (see shared/design/ARCHITECTURE.md)."""
