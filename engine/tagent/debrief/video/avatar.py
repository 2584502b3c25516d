"""The avatar: Tagent's face drawn with numpy, one image per (mouth shape, eyes open or shut).

A round face on the product's colours, two eyes, a mouth per viseme. Images are drawn once per render
(14 of them) and reused for every frame, which is what makes a minute of video cheap to encode.
"""

from __future__ import annotations

import numpy as np

from tagent.debrief.video.visemes import Viseme

BACKGROUND, FACE, INK, MOUTH, TEETH, ACCENT = (15, 23, 42), (56, 189, 248), (15, 23, 42), (127, 29, 29), \
    (241, 245, 249), (250, 204, 21)
# mouth half-width and half-height, as fractions of the face radius
_SHAPES: dict[Viseme, tuple[float, float]] = {
    Viseme.rest: (0.30, 0.035), Viseme.closed: (0.26, 0.025), Viseme.teeth: (0.28, 0.07),
    Viseme.open: (0.26, 0.22), Viseme.wide: (0.36, 0.10), Viseme.round: (0.14, 0.16), Viseme.mid: (0.25, 0.12)}


def _ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.ogrid[:h, :w]
    return ((y - cy) / max(ry, 0.5)) ** 2 + ((x - cx) / max(rx, 0.5)) ** 2 <= 1.0


def draw(viseme: Viseme, eyes_shut: bool, size: int = 320) -> np.ndarray:
    """One RGB image (size x size x 3, uint8)."""
    h = w = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    cy, cx, r = h * 0.52, w * 0.5, size * 0.38
    img[_ellipse(h, w, cy, cx, r * 1.04, r * 1.04)] = ACCENT  # the ring of the logo
    img[_ellipse(h, w, cy, cx, r, r)] = FACE
    for side in (-1, 1):  # antenna-free, friendly: two eyes
        ey, ex = cy - r * 0.22, cx + side * r * 0.36
        if eyes_shut:
            img[_ellipse(h, w, ey, ex, r * 0.025, r * 0.13)] = INK
        else:
            img[_ellipse(h, w, ey, ex, r * 0.15, r * 0.11)] = INK
            img[_ellipse(h, w, ey - r * 0.05, ex + r * 0.04, r * 0.04, r * 0.04)] = TEETH
    rx, ry = (r * f for f in _SHAPES[viseme])
    my = cy + r * 0.42
    img[_ellipse(h, w, my, cx, ry + 2, rx + 2)] = INK
    img[_ellipse(h, w, my, cx, ry, rx)] = MOUTH
    if viseme in (Viseme.teeth, Viseme.wide, Viseme.open):
        teeth = _ellipse(h, w, my - ry * 0.55, cx, ry * 0.35, rx * 0.8) & _ellipse(h, w, my, cx, ry, rx)
        img[teeth] = TEETH
    return img


def faces(size: int = 320) -> dict[tuple[Viseme, bool], np.ndarray]:
    return {(v, shut): draw(v, shut, size) for v in Viseme for shut in (False, True)}
