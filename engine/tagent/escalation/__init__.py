"""tagent.escalation: who hears about an incident, who gets called, and what Tagent does when nobody answers.

    IncidentManager   the single entry point (handle / acknowledge / approve / deny / resolve / tick / resume)
    Escalation        notify the policy's routes, call its phones, retry failed notifications
    in_night, routes_for   the policy's night window and routes (pure)
"""

from tagent.escalation.flow import Escalation
from tagent.escalation.manager import NIGHT_MODE, IncidentManager, TickReport
from tagent.escalation.night import in_night, routes_for

__all__ = ["NIGHT_MODE", "Escalation", "IncidentManager", "TickReport", "in_night", "routes_for"]
