"""tagent.store: everything Tagent persists (SQLite by default, PostgreSQL by URL), behind one `Store`."""

from tagent.store.records import (
    ActionRecord,
    ActionStatus,
    ApprovalRecord,
    ApprovalStatus,
    AuditRecord,
    CooldownAttempt,
    CooldownRecord,
    DecisionRecord,
    JournalEntry,
    NewVerdict,
    NotificationRecord,
    NotificationStatus,
    PostmortemRecord,
    RuleVersionRecord,
    RuleVersionStatus,
    RunRecord,
    RunStatus,
    SavingRecord,
    StepClaim,
    VerdictRecord,
)
from tagent.store.repos.leadership import Fence, FencedOut, Leader, Leadership
from tagent.store.repos.lifecycle import Active, OutboxItem, Unit
from tagent.store.repos.safety import LedgerSnapshot, LedgerView
from tagent.store.repos.unit_cooldowns import CooldownLost
from tagent.store.store import Store

__all__ = [
    "ActionRecord",
    "ActionStatus",
    "Active",
    "ApprovalRecord",
    "ApprovalStatus",
    "AuditRecord",
    "CooldownAttempt",
    "CooldownLost",
    "CooldownRecord",
    "DecisionRecord",
    "Fence",
    "FencedOut",
    "JournalEntry",
    "Leader",
    "Leadership",
    "LedgerSnapshot",
    "LedgerView",
    "NewVerdict",
    "NotificationRecord",
    "NotificationStatus",
    "OutboxItem",
    "PostmortemRecord",
    "RuleVersionRecord",
    "RuleVersionStatus",
    "RunRecord",
    "RunStatus",
    "SavingRecord",
    "StepClaim",
    "Store",
    "Unit",
    "VerdictRecord",
]
