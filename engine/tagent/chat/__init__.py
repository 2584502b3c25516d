"""tagent.chat (see shared/design/ARCHITECTURE.md)."""
