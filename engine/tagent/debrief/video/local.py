"""The `local` provider: no network. espeak-ng speech, visemes from its phoneme timings, PyAV encoding.

MP4 is H.264 + AAC; WebM is VP8 + Opus (what every browser plays). The frames are the avatar images drawn
once (tagent.debrief.video.avatar) picked per frame from the viseme track and the blinks, converted to
YUV once each, so the encoder does nearly all the work: a minute renders in seconds on two cores.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from tagent.debrief.video import avatar, visemes
from tagent.debrief.video.base import Rendered
from tagent.debrief.video.speech import Speech, synthesize
from tagent.errors import ConfigError, ValidationError

CODECS = {".mp4": ("libx264", "aac"), ".webm": ("libvpx", "libopus")}


class LocalVideo:
    name = "local"

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 160, fps: int = 15, size: int = 320) -> None:
        if size % 2 or not 64 <= size <= 1080:
            raise ValidationError("avatar size must be even, 64..1080")
        if not 5 <= fps <= 30:
            raise ValidationError("fps must be 5..30")
        self.voice, self.words_per_minute, self.fps, self.size = voice, words_per_minute, fps, size

    @property
    def fingerprint(self) -> str:
        return f"local:{self.voice}:{self.words_per_minute}:{self.fps}:{self.size}:v1"

    def render(self, text: str, path: Path) -> Rendered:
        if path.suffix.lower() not in CODECS:
            raise ValidationError(f"{path.name}: the local provider writes .mp4 or .webm")
        speech = synthesize(text, voice=self.voice, words_per_minute=self.words_per_minute)
        path.parent.mkdir(parents=True, exist_ok=True)
        encode(speech, path, fps=self.fps, size=self.size, seed=hashlib.sha256(text.encode()).hexdigest())
        return Rendered(path, speech.seconds, self.name)


def encode(speech: Speech, path: Path, *, fps: int, size: int, seed: str) -> None:
    """Mux the avatar's frames (as long as the speech) and the speech into `path`."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ConfigError("PyAV (pip package av) is not installed: cannot encode video") from exc
    video_codec, audio_codec = CODECS[path.suffix.lower()]
    frames = max(1, int(np.ceil(speech.seconds * fps)))
    track = visemes.track(speech.phonemes, frames, fps, int(speech.seconds * 1000))
    shut = visemes.blinks(frames, fps, seed)
    yuv = {key: av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p").to_ndarray()
           for key, img in avatar.faces(size).items()}
    tmp = path.with_name(f".{path.name}.part")
    with av.open(str(tmp), mode="w", format=path.suffix.lower().lstrip(".")) as out:
        vstream = out.add_stream(video_codec, rate=fps)
        assert isinstance(vstream, av.video.stream.VideoStream)
        vstream.width = vstream.height = size
        vstream.pix_fmt = "yuv420p"
        if video_codec == "libx264":
            vstream.options = {"preset": "ultrafast", "tune": "stillimage", "crf": "28"}
        else:
            vstream.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0", "b": "200k",
                               "threads": "2"}
        rate = 48000 if audio_codec == "libopus" else speech.rate
        astream = out.add_stream(audio_codec, rate=rate)
        assert isinstance(astream, av.audio.stream.AudioStream)
        astream.layout = "mono"
        for k in range(frames):
            frame = av.VideoFrame.from_ndarray(yuv[(track[k], shut[k])], format="yuv420p")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            out.mux(vstream.encode(frame))
        out.mux(vstream.encode(None))
        audio = av.AudioFrame.from_ndarray(speech.samples.reshape(1, -1), format="s16", layout="mono")
        audio.sample_rate = speech.rate
        resampler = av.AudioResampler(format=astream.format.name, layout="mono", rate=rate)
        for chunk in resampler.resample(audio) + resampler.resample(None):
            out.mux(astream.encode(chunk))
        out.mux(astream.encode(None))
    tmp.replace(path)
