"""The auto-discovered inventory: what runs in the cluster, and in which runtime."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tagent.model.core import WorkloadRef


class Runtime(StrEnum):
    nodejs = "nodejs"
    python = "python"
    java = "java"
    go = "go"
    database = "database"
    cache = "cache"
    unknown = "unknown"


class WorkloadInfo(BaseModel):
    """One workload (Deployment or StatefulSet) as discovered, with its inferred runtime."""

    model_config = ConfigDict(extra="forbid")

    ref: WorkloadRef
    replicas: int = 0
    ready_replicas: int = 0
    runtime: Runtime = Runtime.unknown
    images: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    ports: list[int] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.ready_replicas >= self.replicas


class NodeInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    ready: bool
    cpu: str = ""
    memory: str = ""
