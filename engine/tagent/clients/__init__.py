"""tagent.clients (see shared/design/ARCHITECTURE.md)."""
