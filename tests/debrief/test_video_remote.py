"""D-ID and HeyGen adapters against local stand-ins of their documented APIs: create, poll, fetch; keys in
headers; refusals are clear errors; 5xx and timeouts are retried; a render that never ends times out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tagent.debrief.video import make_provider
from tagent.debrief.video.base import DebriefVideo, ProviderRefused, ProviderTimeout
from tagent.debrief.video.did import DIDVideo
from tagent.debrief.video.heygen import HeyGenVideo
from tagent.debrief.video.local import LocalVideo
from tagent.debrief.video.remote import Limits
from tagent.errors import ExternalError
from tagent.settings import Settings
from tests.debrief import standins
from tests.serving import serve

FAST = Limits(timeout=2.0, retries=2, backoff=0.05, render_timeout=5.0, poll_interval=0.05)
TEXT = "Good morning. Last night at 2:15 AM IST, payment-service crashed; Tagent restarted it."


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return LocalVideo().render("Hello from the stand-in.", tmp_path_factory.mktemp("v") / "r.mp4").path.read_bytes()


Maker = Callable[[str, standins.Behaviour, Limits], DebriefVideo]


def _did(url: str, b: standins.Behaviour, limits: Limits) -> DebriefVideo:
    return DIDVideo(b.key, "https://example.test/face.png", base_url=url, limits=limits)


def _heygen(url: str, b: standins.Behaviour, limits: Limits) -> DebriefVideo:
    return HeyGenVideo(b.key, "avatar-1", "voice-1", base_url=url, limits=limits)


PROVIDERS = [pytest.param(standins.did, _did, id="d-id"), pytest.param(standins.heygen, _heygen, id="heygen")]


@pytest.mark.parametrize(("standin", "make"), PROVIDERS)
def test_create_poll_fetch(standin: Callable, make: Maker, mp4: bytes, tmp_path: Path) -> None:
    b = standins.Behaviour(video=mp4, polls_before_done=2)
    with serve(standin(b)) as url:
        rendered = make(url, b, FAST).render(TEXT, tmp_path / "night.mp4")
    assert rendered.path.read_bytes() == mp4 and rendered.seconds > 0.5
    methods = [(m, p.split("?")[0]) for m, p, _, _ in b.seen]
    assert methods[0][0] == "POST" and b.polls == 3 and methods[-1][0] == "GET"
    created = b.seen[0][3]
    if rendered.provider == "d-id":
        assert b.seen[0][2]["Authorization"] == "Basic test-key"
        assert created["script"] == {"type": "text", "input": TEXT,
                                     "provider": {"type": "microsoft", "voice_id": "en-US-JennyNeural"}}
        assert created["source_url"] == "https://example.test/face.png"
    else:
        assert b.seen[0][2]["X-Api-Key"] == "test-key"
        assert created["video_inputs"][0]["voice"] == {"type": "text", "input_text": TEXT, "voice_id": "voice-1"}
        assert created["video_inputs"][0]["character"]["avatar_id"] == "avatar-1"
    # the key never travels in a URL or a body
    assert all("test-key" not in p and "test-key" not in json.dumps(body) for _, p, _, body in b.seen)


@pytest.mark.parametrize(("standin", "make"), PROVIDERS)
def test_refusals_are_clear_and_not_retried(standin: Callable, make: Maker, mp4: bytes, tmp_path: Path) -> None:
    b = standins.Behaviour(video=mp4, refuse_status=402)
    with serve(standin(b)) as url:
        with pytest.raises(ProviderRefused, match=r"refused \(402\): .*(not enough credits|Insufficient credit)"):
            make(url, b, FAST).render(TEXT, tmp_path / "n.mp4")
        assert len(b.seen) == 1
        wrong = standins.Behaviour(video=mp4, key="other")  # the adapter sends "other", the stand-in wants b.key
        with pytest.raises(ProviderRefused, match=r"refused \(401\): .*(user unauthorized|Unauthorized)"):
            make(url, wrong, FAST).render(TEXT, tmp_path / "n.mp4")
    assert not (tmp_path / "n.mp4").exists()


@pytest.mark.parametrize(("standin", "make"), PROVIDERS)
def test_a_failed_render_names_the_reason(standin: Callable, make: Maker, mp4: bytes, tmp_path: Path) -> None:
    b = standins.Behaviour(video=mp4, fail_render=True)
    with serve(standin(b)) as url, pytest.raises(ProviderRefused, match=r"could not make the video: .*"
                                                                      r"(no face found|avatar not found)"):
        make(url, b, FAST).render(TEXT, tmp_path / "n.mp4")


@pytest.mark.parametrize(("standin", "make"), PROVIDERS)
def test_server_errors_are_retried_then_given_up(standin: Callable, make: Maker, mp4: bytes, tmp_path: Path) -> None:
    b = standins.Behaviour(video=mp4, server_errors_first=2, polls_before_done=0)
    with serve(standin(b)) as url:
        assert make(url, b, FAST).render(TEXT, tmp_path / "ok.mp4").path.exists()
    assert [m for m, _, _, _ in b.seen[:3]] == ["POST"] * 3  # two 503s, then the create went through
    down = standins.Behaviour(video=mp4, server_errors_first=100)
    with serve(standin(down)) as url, pytest.raises(ExternalError, match="answered 503 3 times"):
        make(url, down, FAST).render(TEXT, tmp_path / "no.mp4")
    assert len(down.seen) == 3


@pytest.mark.parametrize(("standin", "make"), PROVIDERS)
def test_timeouts(standin: Callable, make: Maker, mp4: bytes, tmp_path: Path) -> None:
    b = standins.Behaviour(video=mp4, never_done=True)
    with serve(standin(b)) as url, pytest.raises(ProviderTimeout, match=r"did not finish the video within 0.5s"):
        make(url, b, Limits(retries=0, render_timeout=0.5, poll_interval=0.05)).render(TEXT, tmp_path / "n.mp4")
    slow = standins.Behaviour(video=mp4, slow_s=0.6)
    with serve(standin(slow)) as url, pytest.raises(ExternalError, match="failed after 2 attempts: ReadTimeout"):
        make(url, slow, Limits(timeout=0.2, retries=1, backoff=0.01)).render(TEXT, tmp_path / "n.mp4")
    assert len(slow.seen) == 2


def test_providers_from_the_settings(mp4: bytes, tmp_path: Path) -> None:
    b = standins.Behaviour(video=mp4, polls_before_done=0)
    with serve(standins.did(b)) as url:
        settings = Settings(did_api_key="test-key", did_url=url, did_source_url="https://example.test/face.png")
        provider = make_provider("d-id", settings)
        assert provider.render(TEXT, tmp_path / "env.mp4").provider == "d-id"
    assert "test-key" not in provider.fingerprint
