"""Interactive incident alerts: each new incident is posted to a Slack channel and/or a Teams conversation
with Acknowledge / Approve / Deny / Fix now, whose clicks the bots handle (same roles, same manager).

`IncidentAlerts` has the shape of `IncidentService.on_open` (incident, decision); `chain` keeps an existing
hook (drafting). Posting happens on a worker thread: detection never waits for Slack or Teams.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tagent.channels.slack.bot import SlackBot
from tagent.channels.teams.bot import TeamsBot
from tagent.model import Incident

log = logging.getLogger("tagent.channels.alerts")
OnOpen = Callable[[Incident, Any], None]


class IncidentAlerts:
    def __init__(self, *, slack: SlackBot | None = None, slack_channel: str | None = None,
                 teams: TeamsBot | None = None, teams_service_url: str | None = None,
                 teams_conversation: str | None = None) -> None:
        self.slack, self.slack_channel = slack, slack_channel
        self.teams, self.teams_service_url, self.teams_conversation = teams, teams_service_url, teams_conversation
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="incident-alerts")

    def __call__(self, incident: Incident, decision: Any = None) -> Future[None]:
        return self._worker.submit(self._post, incident.id)

    def _post(self, incident_id: str) -> None:
        if self.slack is not None and self.slack_channel:
            try:
                self.slack.post_incident(self.slack_channel, incident_id)
            except Exception:
                log.exception("slack: the alert for incident %s was not posted", incident_id)
        if self.teams is not None and self.teams_service_url and self.teams_conversation:
            try:
                self.teams.post_incident(self.teams_service_url, self.teams_conversation, incident_id)
            except Exception:
                log.exception("teams: the alert for incident %s was not posted", incident_id)

    def chain(self, previous: OnOpen | None) -> OnOpen:
        """A hook that runs `previous` (if any), then posts the alert."""
        def both(incident: Incident, decision: Any) -> None:
            if previous is not None:
                previous(incident, decision)
            self(incident, decision)
        return both

    def close(self) -> None:
        self._worker.shutdown(wait=True)
