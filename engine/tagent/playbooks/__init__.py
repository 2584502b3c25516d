"""tagent.playbooks (see shared/design/ARCHITECTURE.md)."""
