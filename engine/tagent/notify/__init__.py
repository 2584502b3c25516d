"""tagent.notify (see shared/design/ARCHITECTURE.md)."""
