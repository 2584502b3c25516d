"""tagent.detect (see shared/design/ARCHITECTURE.md)."""
