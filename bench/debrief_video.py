"""Local debrief video benchmark: `python bench/debrief_video.py [--seconds 60] [--formats mp4,webm]`.

Renders a debrief of about `--seconds` of speech with the local provider (espeak-ng + visemes + PyAV) and
prints one JSON object (nothing asserted): per format the speech length, the wall time, the CPU time of
this process and the real-time factor (wall / speech), plus the cores this process may use and the load
average, so a number taken on a busy host says so. Issue 16's target: a 60-second debrief under 30 s on
2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from tagent.debrief.video.local import LocalVideo
from tagent.debrief.video.speech import synthesize

SENTENCES = [
    "Last night at 1:36 AM IST, payment-service in shop had a problem: crash loop back off.",
    "Tagent restarted it and watched it come back healthy.",
    "It was fixed at 1:37 AM IST; users were affected for 27 seconds.",
    "Last night at 1:49 AM IST, frontend in shop had a problem: error spike.",
    "Nobody answered the call, so Tagent acted on its own and rolled it back.",
]


def text_of(seconds: float) -> str:
    """A debrief-like text whose speech lasts about `seconds` (grown sentence by sentence)."""
    words = ["Good morning. Since yesterday at 7:30 PM IST, Tagent handled 12 incidents."]
    while synthesize(" ".join(words)).seconds < seconds:
        words.append(SENTENCES[len(words) % len(SENTENCES)])
    return " ".join(words)


def run(seconds: float, formats: list[str]) -> dict[str, Any]:
    text = text_of(seconds)
    load_start = os.getloadavg()
    out: dict[str, Any] = {"target_speech_s": seconds, "cores": len(os.sched_getaffinity(0)),
                           "load_avg_start": [round(x, 2) for x in load_start], "formats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            rendered = LocalVideo().render(text, Path(tmp) / f"bench.{fmt}")
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            out["formats"][fmt] = {"speech_s": round(rendered.seconds, 2), "wall_s": round(wall, 2),
                                   "cpu_s": round(cpu, 2), "realtime_factor": round(wall / rendered.seconds, 3),
                                   "bytes": rendered.path.stat().st_size}
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--formats", default="mp4,webm")
    args = parser.parse_args()
    print(json.dumps(run(args.seconds, [f.strip() for f in args.formats.split(",") if f.strip()]), indent=2))


if __name__ == "__main__":
    main()
