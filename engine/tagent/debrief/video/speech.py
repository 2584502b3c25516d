"""Speech with its phoneme timings, from libespeak-ng (the library behind the `espeak-ng` command).

The command line writes a WAV but does not say when each phoneme is spoken; the library does, through the
synthesis callback's phoneme events (`espeakINITIALIZE_PHONEME_EVENTS`). `synthesize(text)` returns the
16-bit mono samples, their rate and the phonemes with their start in milliseconds, so the avatar's mouth
follows the audio it is muxed with. The library keeps global state: one synthesis at a time (a lock).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from tagent.errors import ConfigError, ExternalError

_SYNCHRONOUS, _PHONEME_EVENTS, _CHARS_UTF8, _POS_CHARACTER = 2, 0x0001, 1, 1
_LIST_END, _EVENT_PHONEME, _EVENT_TERMINATED, _RATE = 0, 7, 6, 1
_LOCK = threading.Lock()
_LIB: ctypes.CDLL | None = None
_SAMPLE_RATE = 0


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Phoneme:
    symbol: str
    start_ms: int


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # int16, mono
    rate: int
    phonemes: tuple[Phoneme, ...]

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def _library() -> tuple[ctypes.CDLL, int]:
    global _LIB, _SAMPLE_RATE
    if _LIB is None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise ConfigError("libespeak-ng is not installed (Debian package espeak-ng): no speech") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _PHONEME_EVENTS)
        if rate <= 0:
            raise ExternalError(f"libespeak-ng did not initialise (code {rate})")
        _LIB, _SAMPLE_RATE = lib, rate
    return _LIB, _SAMPLE_RATE


def synthesize(text: str, *, voice: str = "en-us", words_per_minute: int = 160) -> Speech:
    """Speak `text` into memory: samples, rate and phoneme start times (ms from the first sample)."""
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    chunks: list[np.ndarray] = []
    phonemes: list[Phoneme] = []

    def on_audio(wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]) -> int:
        if count > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _LIST_END:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                symbol = bytes(event.id.string).split(b"\0", 1)[0].decode("ascii", "replace")
                phonemes.append(Phoneme(symbol, int(event.audio_position)))
            if event.type == _EVENT_TERMINATED:
                break
            i += 1
        return 0

    callback = _CALLBACK(on_audio)
    data = text.encode("utf-8")
    with _LOCK:
        lib, rate = _library()
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ConfigError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(_RATE, words_per_minute, 0)
        code = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if code != 0:
            raise ExternalError(f"espeak-ng could not speak the text (code {code})")
    samples = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    if not len(samples):
        raise ExternalError("espeak-ng produced no audio")
    return Speech(samples, rate, tuple(phonemes))
