"""From espeak-ng phonemes to mouth shapes (visemes), frame by frame, and when the eyes blink.

espeak-ng names phonemes in its ASCII alphabet (`p`, `aI`, `u:`, `_:` for a pause...). Six mouth shapes
are enough for a face this size: rest, closed (p b m), teeth on lip (f v), open (a, aI, @), wide (i, e)
and round (u, o, w). Blinks come every 2.5 to 5 seconds, from a generator seeded by the text, so the same
debrief renders the same frames (and the cache key can be the text).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from enum import IntEnum

from tagent.debrief.video.speech import Phoneme


class Viseme(IntEnum):
    rest = 0
    closed = 1
    teeth = 2
    open = 3
    wide = 4
    round = 5
    mid = 6


_CLOSED, _TEETH = set("pbm"), set("fv")
_ROUND_START, _WIDE_START, _OPEN_START = ("u", "U", "o", "O", "w", "r", "W"), ("i", "I", "e", "E", "j"), \
    ("a", "A", "V", "@", "3", "0", "&")


def viseme(symbol: str) -> Viseme:
    """The mouth shape of one espeak-ng phoneme mnemonic."""
    s = symbol.strip().lstrip("',%=")
    if not s or s.startswith("_"):
        return Viseme.rest
    if s[0] in _CLOSED:
        return Viseme.closed
    if s[0] in _TEETH:
        return Viseme.teeth
    if s.startswith(_ROUND_START):
        return Viseme.round
    if s.startswith(_WIDE_START):
        return Viseme.wide
    if s.startswith(_OPEN_START):
        return Viseme.open
    return Viseme.mid


def track(phonemes: Sequence[Phoneme], frames: int, fps: int, speech_ms: int) -> list[Viseme]:
    """The viseme of each frame: the phoneme being spoken at the frame's time; rest after the speech."""
    out: list[Viseme] = []
    ordered = sorted(phonemes, key=lambda p: p.start_ms)
    i, current = 0, Viseme.rest
    for k in range(frames):
        t = k * 1000 / fps
        while i < len(ordered) and ordered[i].start_ms <= t:
            current = viseme(ordered[i].symbol)
            i += 1
        out.append(current if t < speech_ms else Viseme.rest)
    return out


def blinks(frames: int, fps: int, seed: str) -> list[bool]:
    """True for the frames where the eyes are shut (about 130 ms every 2.5 to 5 s)."""
    rng = random.Random(seed)
    shut = [False] * frames
    at = rng.uniform(1.0, 2.5)
    while at * fps < frames:
        first = int(at * fps)
        for k in range(first, min(frames, first + max(1, round(0.13 * fps)))):
            shut[k] = True
        at += rng.uniform(2.5, 5.0)
    return shut
