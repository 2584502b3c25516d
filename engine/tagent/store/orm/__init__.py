"""ORM tables, split by table group; importing this package registers every table on `Base.metadata`."""

from tagent.store.orm import detect, incidents, inventory, leadership, runs, safety, traces
from tagent.store.orm.base import Base

__all__ = ["Base", "detect", "incidents", "inventory", "leadership", "runs", "safety", "traces"]
