"""The demo wiring: every local receiver at once, reached through Settings exactly as the engine reads them."""

from __future__ import annotations

from pathlib import Path

from tagent.llm import Evidence, LLMClient, explain_incident
from tagent.notify import Notifier, TwilioCaller, build_message
from tagent.sandbox.receivers import LocalReceivers
from tagent.settings import Settings
from tests.llm.conftest import crashloop_incident


def test_default_policy_routes_reach_the_local_receivers(tmp_path: Path) -> None:
    incident = crashloop_incident()
    with LocalReceivers(cert_dir=tmp_path / "tls") as local:
        settings = Settings(**local.settings_overrides(), dashboard_url="http://127.0.0.1:8501",
                            public_url="http://127.0.0.1:8080")
        message = build_message(incident, settings.dashboard_url)
        with Notifier.from_settings(settings) as notifier:
            results = notifier.send_message(["slack-oncall", "teams-sre"], message)
        call = TwilioCaller.from_settings(settings).call(settings.phones["oncall-phone"], message.title, incident.id)
        client = LLMClient.from_settings(settings)
        assert client is not None
        explanation = explain_incident(incident, Evidence.from_incident(incident), client)
        report = local.report()
    assert all(r.delivered for r in results)
    assert report["slack_messages"] == [message.body]
    assert report["teams_messages"] == [{"title": message.title, "text": message.body}]
    assert report["calls"] == [{"sid": call.sid, "to": "+15005550006"}]
    assert report["llm_requests"] == 1
    assert "payment-service-7d9 CrashLoopBackOff" in explanation.markdown  # quoted back from the events block
    assert "crashloop-restart" in explanation.markdown and explanation.generated
