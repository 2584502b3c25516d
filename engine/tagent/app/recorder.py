"""The store as the GitOps pipeline's VersionRecorder: every activation and rejection is kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tagent.store import Store
from tagent.store.records import RuleVersionStatus


class StoreVersionRecorder:
    def __init__(self, store: Store, source: str = "") -> None:
        self.store = store
        self.source = source

    def record_activation(self, version: str, author: str, at: datetime) -> None:
        self.store.rules.record(version, RuleVersionStatus.active, at=at, author=author, source=self.source)

    def record_rejection(self, version: str, author: str, problems: Sequence[str], at: datetime,
                         message: str = "") -> None:
        self.store.rules.record(version, RuleVersionStatus.rejected, at=at, author=author, source=self.source,
                                problems=problems, message=message)

    def last_activated(self) -> str | None:
        active = self.store.rules.active()
        return active.sha if active else None
