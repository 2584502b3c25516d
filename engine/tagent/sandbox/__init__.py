"""tagent.sandbox (see shared/design/ARCHITECTURE.md)."""
