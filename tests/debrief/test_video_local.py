"""The local avatar: espeak-ng phoneme timings drive the mouth; the file has video and audio as long as the speech."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tagent.debrief.video import make_provider
from tagent.debrief.video.cache import VideoCache
from tagent.debrief.video.local import LocalVideo
from tagent.debrief.video.speech import synthesize
from tagent.debrief.video.visemes import Viseme, blinks, track, viseme
from tagent.errors import ConfigError, ValidationError
from tagent.settings import Settings

TEXT = "Good morning. Last night at 2:15 AM IST, payment-service started crash looping. Tagent restarted it."


def streams(path: Path) -> dict[str, float]:
    """Each stream's type and its length in seconds, decoded (not the container's claim)."""
    out: dict[str, float] = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            last = 0.0
            for packet in container.demux(stream):
                if packet.pts is not None and packet.duration is not None and stream.time_base is not None:
                    last = max(last, float((packet.pts + packet.duration) * stream.time_base))
            out[stream.type] = last
            container.seek(0)
    return out


def test_speech_comes_with_phoneme_timings() -> None:
    speech = synthesize(TEXT)
    assert 5 < speech.seconds < 12 and speech.rate > 8000
    starts = [p.start_ms for p in speech.phonemes]
    assert len(starts) > 40 and starts == sorted(starts) and starts[-1] < speech.seconds * 1000
    assert {viseme(p.symbol) for p in speech.phonemes} >= {Viseme.closed, Viseme.open, Viseme.wide, Viseme.rest}
    assert np.abs(speech.samples).max() > 1000  # sound, not silence


def test_visemes_and_blinks() -> None:
    assert [viseme(s) for s in ("p", "m", "f", "aI", "i:", "u:", "_:", "s")] == [
        Viseme.closed, Viseme.closed, Viseme.teeth, Viseme.open, Viseme.wide, Viseme.round, Viseme.rest, Viseme.mid]
    speech = synthesize("Mama, map more maps.")
    frames = track(speech.phonemes, 60, 15, int(speech.seconds * 1000))
    assert Viseme.closed in frames and frames[-1] is Viseme.rest
    shut = blinks(15 * 20, 15, "seed")
    assert 3 <= sum(1 for a, b in zip([False, *shut], shut, strict=False) if b and not a) <= 9
    assert shut == blinks(15 * 20, 15, "seed")  # the same text blinks the same way


@pytest.mark.parametrize(("suffix", "codecs"), [(".mp4", {"h264", "aac"}), (".webm", {"vp8", "opus"})])
def test_a_video_with_sound_as_long_as_the_speech(tmp_path: Path, suffix: str, codecs: set[str]) -> None:
    rendered = LocalVideo().render(TEXT, tmp_path / f"night{suffix}")
    lengths = streams(rendered.path)
    assert set(lengths) == {"video", "audio"}
    assert lengths["audio"] == pytest.approx(rendered.seconds, abs=0.15)
    assert lengths["video"] == pytest.approx(rendered.seconds, abs=0.15)
    with av.open(str(rendered.path)) as c:
        assert {s.codec_context.name for s in c.streams} == codecs
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    mouths = {int(np.abs(f[200:280, 100:220].astype(int) - frames[0][200:280, 100:220]).sum() > 0) for f in frames}
    assert mouths == {0, 1}  # the mouth moves
    assert not list(tmp_path.glob(".*part"))


def test_bad_requests_fail_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"\.mp4 or \.webm"):
        LocalVideo().render(TEXT, tmp_path / "x.gif")
    with pytest.raises(ValueError, match="empty"):
        LocalVideo().render("  ", tmp_path / "x.mp4")
    with pytest.raises(ConfigError, match="no voice"):
        LocalVideo(voice="xx-nowhere").render(TEXT, tmp_path / "x.mp4")
    with pytest.raises(ValidationError, match="unknown video provider 'sora'"):
        make_provider("sora", Settings())
    with pytest.raises(ConfigError, match="d-id: no API key"):
        make_provider("d-id", Settings())
    with pytest.raises(ConfigError, match="heygen: an avatar id"):
        make_provider("heygen", Settings(heygen_api_key="k"))


def test_the_cache_renders_each_text_once_per_provider(tmp_path: Path) -> None:
    cache = VideoCache(tmp_path / "cache", keep=2)
    first = cache.render(LocalVideo(), "Hello there.")
    again = cache.render(LocalVideo(), "Hello there.")
    assert not first.cached and again.cached and again.path == first.path
    assert again.seconds == pytest.approx(first.seconds, abs=0.2)
    slower = cache.render(LocalVideo(words_per_minute=120), "Hello there.")
    assert slower.path != first.path and not slower.cached  # another voice setting: another video
    cache.render(LocalVideo(), "Something else.")
    assert len(list((tmp_path / "cache").glob("*.mp4"))) == 2  # pruned to `keep`
