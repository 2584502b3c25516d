"""tagent.llm (see shared/design/ARCHITECTURE.md)."""
