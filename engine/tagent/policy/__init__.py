"""tagent.policy (see shared/design/ARCHITECTURE.md)."""
