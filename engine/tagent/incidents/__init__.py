"""tagent.incidents: the incident lifecycle, one owner for it (docs/incidents.md).

    IncidentService     the entry point (handle_batch / handle / acknowledge / approve / deny / resolve / tick)
    Admitter            admission: dedup, join, supersede, link; the guard's verdict; react (one transaction)
    People              acknowledgements, approvals, Night Mode, the phone after the call grace
    Supervisor          playbook runs: worker threads, steps on the timeline, continuing interrupted runs
    Closing             outcomes, the quiet sweep; Postmortems
    OutboxWorker        notifications, calls and post-mortems, after the transaction that wanted them
    Book                typed timeline entries and status changes through the state machine (states.py)
"""

from tagent.incidents.admission import Admitted, Admitter
from tagent.incidents.book import Book, fingerprint
from tagent.incidents.closing import Closing, Postmortems
from tagent.incidents.outbox import OutboxWorker
from tagent.incidents.parts import NIGHT_MODE, Knobs, Parts
from tagent.incidents.people import People
from tagent.incidents.runs import Supervisor, mutated_ok
from tagent.incidents.service import IncidentService, TickReport, incident_service

__all__ = ["NIGHT_MODE", "Admitted", "Admitter", "Book", "Closing", "IncidentService", "Knobs", "OutboxWorker",
           "Parts", "People", "Postmortems", "Supervisor", "TickReport", "fingerprint", "incident_service",
           "mutated_ok"]
