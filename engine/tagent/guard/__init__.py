"""tagent.guard: every decision and every mutation passes here first; all of its state lives in the store."""

from tagent.guard.gitops import gitops_owner
from tagent.guard.guard import DEFAULT_COOLDOWN_S, Admission, Clock, Guard
from tagent.guard.limits import RESTART_ACTIONS, ROLLBACK_ACTIONS
from tagent.guard.verdict import Reason, Verdict, VerdictMode
from tagent.guard.windows import MaintenanceWindow, parse_window, parse_windows

__all__ = [
    "DEFAULT_COOLDOWN_S",
    "RESTART_ACTIONS",
    "ROLLBACK_ACTIONS",
    "Admission",
    "Clock",
    "Guard",
    "MaintenanceWindow",
    "Reason",
    "Verdict",
    "VerdictMode",
    "gitops_owner",
    "parse_window",
    "parse_windows",
]
