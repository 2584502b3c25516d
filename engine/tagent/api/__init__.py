"""tagent.api (see shared/design/ARCHITECTURE.md)."""
