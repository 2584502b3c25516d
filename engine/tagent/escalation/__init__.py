"""tagent.escalation: who hears about an incident, who gets called, and the night window.

    Escalation        notify the policy's routes (or one digest for many), call its phones, retry failed sends
    in_night, routes_for   the policy's night window and routes (pure)
The incident lifecycle that decides when to escalate is tagent.incidents.
"""

from tagent.escalation.flow import Escalation, call_text
from tagent.escalation.night import in_night, routes_for

__all__ = ["Escalation", "call_text", "in_night", "routes_for"]
