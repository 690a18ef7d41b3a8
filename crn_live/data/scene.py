"""Render the video half of a synthetic clip: players moving with their notes.

A :class:`SceneRenderer` lays out one scene deterministically from a seed (background room,
one player + instrument sprite per slot, optional occluder, lighting and noise parameters) and
then renders any frame independently: per frame it only warps the pre-drawn sprites with that
frame's note-driven motion, composites them, applies the lighting drift and adds sensor noise.

Every onset of a slot triggers a short bounce/tilt/sway of its player and instrument (decaying
over ~150-300 ms and scaled by velocity) on top of a slow idle sway, so the picture carries the
timing of the music. Ground truth per frame: the tight box of each instrument's warped alpha and
the fraction of it that is not covered by anything drawn in front.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from crn_live.config import SynthConfig
from crn_live.data.drawing import CLASSES, Pen, draw_instrument

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class SlotVisual:
    """Musical timing of one slot (one player) of a clip."""

    class_name: str
    onsets: np.ndarray  # note onset times in seconds, float64 (n,)
    velocities: np.ndarray  # MIDI velocities 0..127, (n,)


@dataclass(frozen=True)
class _Style:
    """How a class is sized, tilted and held.

    ``extent``: sprite long side as a fraction of frame height. ``tilt``: range of the absolute
    base rotation in degrees. ``anchor``: sprite point (fractions) the player's head is placed
    relative to; ``head``: head offset from the anchor in torso units (frame axes). ``hands``:
    sprite points (fractions) the hands reach for. ``rise``: range of the instrument centre's
    height as a fraction of the frame height (mouth height for winds, floor for big ones).
    """

    extent: tuple[float, float]
    tilt: tuple[float, float]
    anchor: tuple[float, float]
    head: tuple[float, float]
    hands: tuple[tuple[float, float], tuple[float, float]]
    rise: tuple[float, float]


_STYLES: dict[str, _Style] = {
    "Banjo": _Style((0.45, 0.58), (25, 55), (0.5, 0.78), (0.1, -1.1), ((0.5, 0.25), (0.5, 0.8)),
                    (0.5, 0.7)),
    "Cello": _Style((0.55, 0.66), (0, 10), (0.5, 0.25), (0.45, -0.3), ((0.5, 0.2), (0.2, 0.62)),
                    (0.55, 0.8)),
    "Drum": _Style((0.55, 0.72), (0, 3), (0.5, 0.15), (0.0, -0.6), ((0.3, 0.4), (0.7, 0.4)),
                   (0.6, 0.8)),
    "Guitar": _Style((0.5, 0.62), (25, 55), (0.5, 0.78), (0.1, -1.1), ((0.5, 0.25), (0.5, 0.8)),
                     (0.5, 0.7)),
    "Harp": _Style((0.56, 0.66), (0, 5), (0.85, 0.35), (0.3, -0.3), ((0.45, 0.45), (0.6, 0.55)),
                   (0.55, 0.8)),
    "Harmonica": _Style((0.2, 0.28), (0, 10), (0.5, 0.5), (0.0, -0.08),
                        ((0.05, 0.6), (0.95, 0.6)), (0.3, 0.5)),
    "Oboe": _Style((0.42, 0.55), (5, 25), (0.5, 0.0), (0.0, -0.22), ((0.5, 0.35), (0.5, 0.7)),
                   (0.45, 0.65)),
    "Piano": _Style((0.56, 0.72), (0, 3), (1.0, 0.3), (0.25, -0.35), ((0.8, 0.6), (0.9, 0.6)),
                    (0.6, 0.8)),
    "Saxophone": _Style((0.42, 0.56), (0, 18), (0.18, 0.02), (-0.15, -0.15),
                        ((0.45, 0.3), (0.45, 0.65)), (0.45, 0.65)),
    "Trombone": _Style((0.65, 0.85), (0, 18), (0.1, 0.7), (-0.25, -0.1),
                       ((0.2, 0.7), (0.55, 0.85)), (0.3, 0.5)),
    "Trumpet": _Style((0.36, 0.5), (0, 18), (0.0, 0.58), (-0.25, -0.1),
                      ((0.48, 0.2), (0.3, 0.6)), (0.3, 0.5)),
    "Violin": _Style((0.32, 0.45), (40, 75), (0.5, 0.9), (0.15, -0.3), ((0.5, 0.15), (0.5, 0.62)),
                     (0.35, 0.55)),
    "Flute": _Style((0.55, 0.75), (0, 12), (0.12, 0.5), (0.0, -0.12), ((0.45, 0.5), (0.75, 0.5)),
                    (0.25, 0.45)),
    "Accordion": _Style((0.36, 0.5), (0, 6), (0.5, 0.3), (0.0, -0.9), ((0.05, 0.5), (0.95, 0.5)),
                        (0.5, 0.7)),
    "Horn": _Style((0.38, 0.5), (0, 15), (0.4, 0.3), (-0.45, -0.55), ((0.35, 0.35), (0.75, 0.75)),
                   (0.45, 0.65)),
    "Clarinet": _Style((0.48, 0.62), (5, 25), (0.5, 0.0), (0.0, -0.22), ((0.5, 0.35), (0.5, 0.7)),
                       (0.45, 0.65)),
    "Bassoon": _Style((0.62, 0.78), (15, 35), (0.1, 0.28), (-0.2, -0.15),
                      ((0.55, 0.45), (0.55, 0.7)), (0.5, 0.7)),
    "Viola": _Style((0.42, 0.55), (40, 75), (0.5, 0.9), (0.15, -0.3), ((0.5, 0.15), (0.5, 0.62)),
                    (0.35, 0.55)),
    "Double bass": _Style((0.8, 0.95), (0, 12), (0.5, 0.2), (0.45, -0.1),
                          ((0.5, 0.18), (0.3, 0.6)), (0.5, 0.7)),
    "Tuba": _Style((0.45, 0.6), (0, 10), (0.2, 0.25), (-0.3, -0.1), ((0.4, 0.45), (0.6, 0.6)),
                   (0.55, 0.75)),
    "Xylophone": _Style((0.62, 0.82), (0, 3), (0.5, 0.0), (0.0, -0.8),
                        ((0.35, 0.25), (0.65, 0.25)), (0.6, 0.8)),
    "Electric bass": _Style((0.55, 0.7), (25, 55), (0.5, 0.78), (0.1, -1.1),
                            ((0.5, 0.25), (0.5, 0.8)), (0.5, 0.7)),
    "Ukulele": _Style((0.26, 0.36), (20, 45), (0.5, 0.8), (0.05, -0.8),
                      ((0.5, 0.2), (0.5, 0.75)), (0.45, 0.6)),
    "Bagpipes": _Style((0.45, 0.6), (0, 10), (0.08, 0.32), (-0.2, -0.1),
                       ((0.6, 0.82), (0.62, 0.92)), (0.4, 0.6)),
    "Congas": _Style((0.45, 0.6), (0, 3), (0.5, 0.0), (0.0, -0.7), ((0.3, 0.05), (0.7, 0.05)),
                     (0.6, 0.8)),
    "Erhu": _Style((0.45, 0.6), (0, 12), (0.3, 0.3), (0.4, -0.4), ((0.3, 0.25), (0.8, 0.7)),
                   (0.5, 0.7)),
    "Guzheng": _Style((0.75, 0.95), (0, 4), (0.5, 0.0), (0.0, -0.8), ((0.6, 0.5), (0.8, 0.5)),
                      (0.6, 0.8)),
    "Pipa": _Style((0.4, 0.52), (0, 15), (0.5, 0.6), (0.05, -1.0), ((0.5, 0.2), (0.5, 0.7)),
                   (0.5, 0.7)),
}

_MARGIN = 2.0  # px kept free between any instrument and the frame border
_COVER_ALPHA = 128  # a front layer covers a pixel where its alpha is at least this


@dataclass
class _Layer:
    """A premultiplied BGRA sprite ``(h, w, 4)`` and its sprite -> frame homography at rest."""

    sprite: np.ndarray
    rest: np.ndarray  # (3, 3)


@dataclass
class _Slot:
    """Everything pre-computed for one slot."""

    instrument: _Layer
    player: _Layer
    motion: np.ndarray  # (n_frames, 3, 3) frame -> frame motion per video frame


# ----------------------------------------------------------------------------- small helpers


def _rgb_to_bgra_premultiplied(rgba: np.ndarray) -> np.ndarray:
    """Straight RGBA ``(h, w, 4)`` -> premultiplied BGRA ``(h, w, 4)`` uint8."""
    alpha = rgba[:, :, 3:].astype(np.float32) / 255.0
    bgr = rgba[:, :, 2::-1].astype(np.float32) * alpha
    return np.concatenate([np.round(bgr), rgba[:, :, 3:]], axis=2).astype(np.uint8)


def _pen_to_bgra(pen: Pen) -> np.ndarray:
    """A Pen's premultiplied RGBA canvas as premultiplied BGRA ``(h, w, 4)``."""
    return np.ascontiguousarray(pen.img[:, :, [2, 1, 0, 3]])


def _translate(dx: float, dy: float) -> np.ndarray:
    """Homogeneous translation ``(3, 3)``."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _rotate(angle_deg: float, cx: float, cy: float) -> np.ndarray:
    """Homogeneous rotation ``(3, 3)`` about ``(cx, cy)``, positive = counter-clockwise."""
    return np.vstack([cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle_deg), 1.0),
                      [0.0, 0.0, 1.0]])


def _apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply homography ``(3, 3)`` to points ``(n, 2)``."""
    h = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ matrix.T
    return h[:, :2] / h[:, 2:3]


def _corners(sprite: np.ndarray) -> np.ndarray:
    """Outer pixel-edge corners ``(4, 2)`` of a sprite in pixel-centre coordinates."""
    h, w = sprite.shape[:2]
    return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    """BGR uint8 triple of an HSV colour (all in 0..1)."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return int(b * 255), int(g * 255), int(r * 255)


def _warp(layer: _Layer, matrix: np.ndarray, width: int,
          height: int) -> tuple[int, int, np.ndarray] | None:
    """Warp a layer's sprite by ``matrix`` into the frame's region it covers.

    Returns:
        ``(x0, y0, bgra (h, w, 4))`` of the covered frame region, or ``None`` if off-frame.
    """
    pts = _apply(matrix, _corners(layer.sprite))
    x0 = int(max(0, np.floor(pts[:, 0].min()) - 1))
    y0 = int(max(0, np.floor(pts[:, 1].min()) - 1))
    x1 = int(min(width, np.ceil(pts[:, 0].max()) + 2))
    y1 = int(min(height, np.ceil(pts[:, 1].max()) + 2))
    if x1 <= x0 or y1 <= y0:
        return None
    shifted = _translate(-x0, -y0) @ matrix
    out = cv2.warpPerspective(layer.sprite, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return x0, y0, out


def _composite(canvas: np.ndarray, x0: int, y0: int, bgra: np.ndarray) -> None:
    """Premultiplied "over" of ``bgra (h, w, 4)`` onto uint8 ``canvas (H, W, 3)`` in place."""
    h, w = bgra.shape[:2]
    roi = canvas[y0:y0 + h, x0:x0 + w]
    keep = cv2.cvtColor(255 - bgra[:, :, 3], cv2.COLOR_GRAY2BGR)
    roi[:] = cv2.add(cv2.multiply(roi, keep, scale=1.0 / 255.0),
                     cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR))


def _crop(bgra: np.ndarray) -> tuple[int, int, np.ndarray]:
    """``(x0, y0, bgra)``: a premultiplied layer ``(h, w, 4)`` cropped to its alpha > 0."""
    ys, xs = np.nonzero(bgra[:, :, 3])
    x0, y0 = int(xs.min()), int(ys.min())
    return x0, y0, np.ascontiguousarray(bgra[y0:ys.max() + 1, x0:xs.max() + 1])


# ----------------------------------------------------------------------------- background


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A room: gradient wall, floor, wall clutter and furniture. BGR uint8 ``(H, W, 3)``."""
    hue = rng.random()
    horizon = int(height * rng.uniform(0.45, 0.72))
    wall_top = np.array(_hsv(hue, rng.uniform(0.05, 0.5), rng.uniform(0.45, 0.95)), np.float32)
    wall_low = wall_top * rng.uniform(0.6, 1.1)
    floor_hue = hue + rng.uniform(0.3, 0.7) if rng.random() < 0.5 else rng.uniform(0.05, 0.12)
    floor = np.array(_hsv(floor_hue, rng.uniform(0.2, 0.6), rng.uniform(0.25, 0.6)), np.float32)
    t = np.linspace(0.0, 1.0, horizon)[:, None]
    img = np.empty((height, width, 3), np.float32)
    img[:horizon] = ((1 - t) * wall_top + t * wall_low)[:, None, :]
    t = np.linspace(0.0, 1.0, height - horizon)[:, None]
    img[horizon:] = (floor * (0.8 + 0.4 * t))[:, None, :]
    img = np.clip(img, 0, 255).astype(np.uint8)
    _floor_lines(img, rng, horizon, floor)
    for _ in range(int(rng.integers(2, 7))):
        _wall_item(img, rng, horizon, hue)
    for _ in range(int(rng.integers(1, 4))):
        _furniture(img, rng, horizon, hue)
    cv2.line(img, (0, horizon), (width, horizon), tuple(int(c * 0.6) for c in wall_low), 2,
             cv2.LINE_AA)
    sigma = rng.uniform(0.3, 1.3)
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _floor_lines(img: np.ndarray, rng: np.random.Generator, horizon: int,
                 floor: np.ndarray) -> None:
    """Floor boards converging to a vanishing point, or plain horizontal seams."""
    height, width = img.shape[:2]
    color = tuple(int(c * 0.7) for c in floor)
    if rng.random() < 0.5:
        vx = rng.uniform(0.2, 0.8) * width
        for x in np.linspace(-width, 2 * width, int(rng.integers(8, 20))):
            cv2.line(img, (int(vx + (x - vx) * 0.2), horizon), (int(x), height), color, 1,
                     cv2.LINE_AA)
    else:
        y = float(horizon)
        while y < height:
            y += rng.uniform(4, 14) * (1 + 2 * (y - horizon) / height)
            cv2.line(img, (0, int(y)), (width, int(y)), color, 1, cv2.LINE_AA)


def _wall_item(img: np.ndarray, rng: np.random.Generator, horizon: int, hue: float) -> None:
    """A picture frame, window, shelf, clock or poster on the wall."""
    height, width = img.shape[:2]
    w, h = rng.uniform(0.08, 0.3) * width, rng.uniform(0.08, 0.3) * height
    x, y = rng.uniform(-0.05, 0.95) * width, rng.uniform(0.02, 0.7) * max(horizon - h, 1)
    p0, p1 = (int(x), int(y)), (int(x + w), int(y + h))
    kind = rng.integers(4)
    color = _hsv(hue + rng.uniform(-0.5, 0.5), rng.uniform(0.1, 0.8), rng.uniform(0.2, 0.95))
    if kind == 0:  # framed picture
        cv2.rectangle(img, p0, p1, _hsv(rng.random(), 0.4, rng.uniform(0.1, 0.5)), -1)
        inner = (int(x + 0.12 * w), int(y + 0.12 * h)), (int(x + 0.88 * w), int(y + 0.88 * h))
        cv2.rectangle(img, *inner, color, -1)
        cv2.circle(img, (int(x + w * rng.uniform(0.3, 0.7)), int(y + h * 0.5)),
                   int(0.2 * min(w, h)), _hsv(rng.random(), 0.6, 0.7), -1, cv2.LINE_AA)
    elif kind == 1:  # window
        sky = _hsv(rng.uniform(0.5, 0.62), rng.uniform(0.2, 0.6), rng.uniform(0.7, 1.0))
        cv2.rectangle(img, p0, p1, sky, -1)
        frame_color = _hsv(hue, 0.1, rng.uniform(0.6, 1.0))
        cv2.rectangle(img, p0, p1, frame_color, 3)
        cv2.line(img, (int(x + w / 2), p0[1]), (int(x + w / 2), p1[1]), frame_color, 2)
        cv2.line(img, (p0[0], int(y + h / 2)), (p1[0], int(y + h / 2)), frame_color, 2)
    elif kind == 2:  # shelf with books
        cv2.rectangle(img, (p0[0], p1[1] - 3), p1, _hsv(0.08, 0.6, 0.4), -1)
        bx = x
        while bx < x + w - 3:
            bw = rng.uniform(2, 6)
            bh = rng.uniform(0.4, 0.9) * h
            cv2.rectangle(img, (int(bx), int(y + h - 3 - bh)), (int(bx + bw), int(y + h - 3)),
                          _hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9)), -1)
            bx += bw + 1
    else:  # clock or round lamp
        r = int(0.4 * min(w, h))
        centre = (int(x + w / 2), int(y + h / 2))
        cv2.circle(img, centre, r, color, -1, cv2.LINE_AA)
        cv2.circle(img, centre, r, (30, 30, 30), 2, cv2.LINE_AA)
        cv2.line(img, centre, (centre[0], centre[1] - int(0.7 * r)), (20, 20, 20), 2, cv2.LINE_AA)
        cv2.line(img, centre, (centre[0] + int(0.5 * r), centre[1]), (20, 20, 20), 2, cv2.LINE_AA)


def _furniture(img: np.ndarray, rng: np.random.Generator, horizon: int, hue: float) -> None:
    """A table, cabinet, sofa or lamp standing on the floor."""
    height, width = img.shape[:2]
    w, h = rng.uniform(0.15, 0.4) * width, rng.uniform(0.15, 0.4) * height
    x, base = rng.uniform(-0.1, 0.9) * width, horizon + rng.uniform(0.05, 0.4) * (height - horizon)
    color = _hsv(hue + rng.uniform(-0.3, 0.3), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7))
    dark = tuple(int(c * 0.6) for c in color)
    kind = rng.integers(4)
    if kind == 0:  # table
        top = int(base - h)
        cv2.rectangle(img, (int(x), top), (int(x + w), top + 5), color, -1)
        for lx in (x + 4, x + w - 6):
            cv2.rectangle(img, (int(lx), top + 5), (int(lx + 3), int(base)), dark, -1)
    elif kind == 1:  # cabinet
        cv2.rectangle(img, (int(x), int(base - h)), (int(x + w), int(base)), color, -1)
        cv2.line(img, (int(x + w / 2), int(base - h)), (int(x + w / 2), int(base)), dark, 1)
        for hx in (x + w / 2 - 5, x + w / 2 + 3):
            cv2.circle(img, (int(hx), int(base - h / 2)), 2, (200, 200, 200), -1, cv2.LINE_AA)
    elif kind == 2:  # sofa
        cv2.rectangle(img, (int(x), int(base - 0.6 * h)), (int(x + w), int(base)), color, -1)
        cv2.rectangle(img, (int(x), int(base - h)), (int(x + w), int(base - 0.5 * h)), dark, -1)
    else:  # floor lamp
        cv2.line(img, (int(x), int(base)), (int(x), int(base - 1.8 * h)), (40, 40, 40), 2)
        shade = np.array([[x - 12, base - 1.8 * h], [x + 12, base - 1.8 * h],
                          [x + 7, base - 1.8 * h - 14], [x - 7, base - 1.8 * h - 14]], np.int32)
        cv2.fillPoly(img, [shade], _hsv(0.12, 0.3, 0.95), cv2.LINE_AA)


# ----------------------------------------------------------------------------- players


def _draw_player(rng: np.random.Generator, head: np.ndarray, torso: float,
                 hands: np.ndarray) -> _Layer:
    """A simple figure (head, torso, arms, legs) with its head at ``head`` (frame px).

    ``hands (2, 2)``: frame points the hands reach for. Returns a layer whose rest matrix places
    the sprite in the frame.
    """
    r_head = 0.22 * torso
    ox, oy = head[0] - 1.6 * torso, head[1] - 1.5 * r_head
    pen = Pen(3.2 * torso, 3.3 * torso)
    hx, hy = head[0] - ox, head[1] - oy
    local_hands = hands - [ox, oy]
    skin = tuple(np.array([(235, 200, 170), (200, 150, 110), (150, 100, 70), (95, 65, 45)]
                          [rng.integers(4)]) + rng.uniform(-10, 10, 3))
    cloth = tuple(np.array(_hsv(rng.random(), rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.9))[::-1],
                           float))
    trousers = tuple(np.array(_hsv(rng.random(), 0.3, rng.uniform(0.1, 0.4))[::-1], float))
    hair = tuple(np.array([(30, 22, 18), (90, 60, 30), (200, 170, 110), (60, 40, 30),
                           (150, 150, 150)][rng.integers(5)], float))
    shoulder_y = hy + r_head + 0.1 * torso
    half_sh, half_hip = 0.42 * torso * rng.uniform(0.9, 1.1), 0.32 * torso
    hip_y = shoulder_y + torso
    for side in (-1.0, 1.0):
        pen.line(np.array([[hx + side * 0.15 * torso, hip_y],
                           [hx + side * 0.2 * torso, hip_y + 1.3 * torso]]), trousers,
                 0.24 * torso)
    pen.poly(np.array([[hx - half_sh, shoulder_y], [hx + half_sh, shoulder_y],
                       [hx + half_hip, hip_y], [hx - half_hip, hip_y]]), cloth)
    for side in (-1.0, 1.0):
        pen.circle(hx + side * (half_sh - 0.08 * torso), shoulder_y + 0.1 * torso,
                   0.13 * torso, cloth)
    pen.poly(np.array([[hx - 0.08 * torso, hy], [hx + 0.08 * torso, hy],
                       [hx + 0.09 * torso, shoulder_y + 2], [hx - 0.09 * torso, shoulder_y + 2]]),
             skin)
    _arms(pen, hx, shoulder_y, half_sh, torso, local_hands, cloth, skin)
    pen.circle(hx, hy, r_head, skin)
    pen.ellipse(hx, hy - 0.35 * r_head, 1.05 * r_head, 0.75 * r_head, hair)
    pen.ellipse(hx, hy + 0.15 * r_head, 0.85 * r_head, 0.75 * r_head, skin)
    x0, y0, bgra = _crop(_pen_to_bgra(pen))
    return _Layer(bgra, _translate(ox + x0, oy + y0))


def _arms(pen: Pen, hx: float, shoulder_y: float, half_sh: float, torso: float,
          hands: np.ndarray, cloth: tuple, skin: tuple) -> None:
    """Two arms from the shoulders to ``hands (2, 2)`` (canvas px) with a bent elbow."""
    order = np.argsort(hands[:, 0])
    for side, hand in zip((-1.0, 1.0), hands[order]):
        shoulder = np.array([hx + side * (half_sh - 0.05 * torso), shoulder_y + 0.12 * torso])
        reach = hand - shoulder
        dist = np.linalg.norm(reach)
        if dist > 1.1 * torso:
            hand = shoulder + reach / dist * 1.1 * torso
        elbow = (shoulder + hand) / 2 + [side * 0.2 * torso, 0.25 * torso]
        pen.line(np.array([shoulder, elbow, hand]), cloth, 0.17 * torso)
        pen.circle(hand[0], hand[1], 0.09 * torso, skin)


# ----------------------------------------------------------------------------- motion


def _envelope(onsets: np.ndarray, velocities: np.ndarray, times: np.ndarray,
              tau: float) -> np.ndarray:
    """Per-frame note activity in ``[0, 1)``: decaying onset kicks, soft-saturated.

    ``times (n_frames,)`` -> ``(n_frames,)``.
    """
    onsets = np.asarray(onsets, np.float64).reshape(-1)
    if onsets.size == 0:
        return np.zeros_like(times)
    weight = np.clip(np.asarray(velocities, np.float64).reshape(-1), 0, 127) / 127.0
    total = np.zeros_like(times)
    for start in range(0, onsets.size, 512):
        dt = times[:, None] - onsets[None, start:start + 512]
        kick = np.where(dt >= 0.0, np.exp(-np.maximum(dt, 0.0) / tau), 0.0)
        total += kick @ weight[start:start + 512]
    return 1.0 - np.exp(-1.5 * total)


def _motions(rng: np.random.Generator, slot: SlotVisual, times: np.ndarray, extent: float,
             pivot: np.ndarray) -> np.ndarray:
    """Per-frame motion homographies ``(n_frames, 3, 3)``: note bounce/tilt/sway + idle sway."""
    env = _envelope(slot.onsets, slot.velocities, times, rng.uniform(0.07, 0.11))
    bounce = rng.uniform(0.05, 0.09) * extent
    tilt = rng.uniform(3.0, 7.0) * rng.choice([-1.0, 1.0])
    sway = rng.uniform(-0.04, 0.04) * extent
    f_idle, phase = rng.uniform(0.15, 0.5), rng.uniform(0, 2 * np.pi, 3)
    idle = np.sin(2 * np.pi * f_idle * times[:, None] + phase)
    dx = sway * env + 0.006 * extent * idle[:, 0]
    dy = -bounce * env + 0.004 * extent * idle[:, 1]
    angle = tilt * env + 0.5 * idle[:, 2]
    return np.stack([_translate(x, y) @ _rotate(a, *pivot) for x, y, a in zip(dx, dy, angle)])


# ----------------------------------------------------------------------------- layout


def _perspective(rng: np.random.Generator, sprite: np.ndarray, angle: float) -> np.ndarray:
    """Sprite -> centred frame-space homography ``(3, 3)``: jittered corners + rotation."""
    src = _corners(sprite).astype(np.float32)
    h, w = sprite.shape[:2]
    jitter = rng.uniform(-0.07, 0.07, (4, 2)) * [w, h]
    dst = (src + jitter).astype(np.float32)
    persp = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    centre = _apply(persp, np.array([[(w - 1) / 2, (h - 1) / 2]]))[0]
    return _rotate(angle, 0.0, 0.0) @ _translate(-centre[0], -centre[1]) @ persp


def _mirror(sprite: np.ndarray, flip: bool) -> np.ndarray:
    """The sprite, mirrored left-right when ``flip``."""
    return np.ascontiguousarray(sprite[:, ::-1]) if flip else sprite


class _Placer:
    """Chooses instrument sizes and positions inside per-slot columns of the frame."""

    def __init__(self, config: SynthConfig, n_slots: int) -> None:
        self.width, self.height = config.width, config.height
        self.column = config.width / n_slots
        self.times = np.arange(config.n_frames) / config.fps

    def instrument(self, rng: np.random.Generator, slot: SlotVisual,
                   column: int) -> tuple[_Layer, np.ndarray, bool]:
        """Draw, size and place one instrument.

        Returns:
            ``(layer, motion (n_frames, 3, 3), flipped)``.
        """
        style = _STYLES[slot.class_name]
        draw_seed, warp_seed, motion_seed = (int(v) for v in rng.integers(2**31, size=3))
        flip = bool(rng.random() < 0.5)
        angle = rng.uniform(*style.tilt) * (-1.0 if flip else 1.0)
        if slot.class_name == "Violin" and rng.random() < 0.25:
            angle = rng.uniform(-12, 12)
        extent = rng.uniform(*style.extent) * self.height
        for _ in range(4):
            sprite = _mirror(draw_instrument(slot.class_name, np.random.default_rng(draw_seed),
                                             max(16, int(round(extent)))), flip)
            centred = _perspective(np.random.default_rng(warp_seed), sprite, angle)
            motion = _motions(np.random.default_rng(motion_seed), slot, self.times, extent,
                              np.zeros(2))
            lo, hi = self._swept_box(sprite, centred, motion)
            max_width = min(1.1 * self.column, self.width - 2 * _MARGIN - 1)
            scale = min(1.0, max_width / (hi[0] - lo[0]),
                        (self.height - 2 * _MARGIN - 1) / (hi[1] - lo[1]))
            if scale >= 0.999:
                break
            extent *= scale * 0.98
        position = self._position(rng, lo, hi, column, style.rise)
        rest = _translate(*position) @ centred
        shift = _translate(*position)
        motion = np.stack([shift @ m @ np.linalg.inv(shift) for m in motion])
        return _Layer(_rgb_to_bgra_premultiplied(sprite), rest), motion, flip

    def _swept_box(self, sprite: np.ndarray, centred: np.ndarray,
                   motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box ``(lo (2,), hi (2,))`` of the sprite corners over all frames."""
        corners = _corners(sprite)
        pts = np.concatenate([_apply(m @ centred, corners) for m in motion])
        return pts.min(axis=0), pts.max(axis=0)

    def _position(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, column: int,
                  rise: tuple[float, float]) -> np.ndarray:
        """A position keeping the swept box inside the frame, near the slot's column."""
        x_min, x_max = _MARGIN - lo[0], self.width - 1 - _MARGIN - hi[0]
        y_min, y_max = _MARGIN - lo[1], self.height - 1 - _MARGIN - hi[1]
        x = (column + 0.5 + rng.uniform(-0.12, 0.12)) * self.column
        y = rng.uniform(*rise) * self.height
        x = np.clip(x, x_min, max(x_min, x_max))
        return np.array([x, np.clip(y, y_min, max(y_min, y_max))])


def _player_for(rng: np.random.Generator, slot: SlotVisual, instrument: _Layer, flip: bool,
                torso: float) -> _Layer:
    """The player figure placed relative to its instrument's rest pose."""
    style = _STYLES[slot.class_name]
    h, w = instrument.sprite.shape[:2]

    def to_frame(u: float, v: float) -> np.ndarray:
        u = 1.0 - u if flip else u
        return _apply(instrument.rest, np.array([[u * (w - 1), v * (h - 1)]]))[0]

    dx = -style.head[0] if flip else style.head[0]
    head = to_frame(*style.anchor) + np.array([dx, style.head[1]]) * torso
    hands = np.stack([to_frame(*p) for p in style.hands])
    return _draw_player(rng, head, torso, hands)


# ----------------------------------------------------------------------------- occluder


def _music_stand(pen: Pen, rng: np.random.Generator, cx: float, top: float, bw: float,
                 bh: float, height: int) -> None:
    """A dark music stand with a sheet of music; the pole runs to the frame bottom."""
    dw = rng.uniform(0.45, 0.8) * bw
    desk_bottom = min(top + rng.uniform(0.25, 0.4) * bh, height + 5)
    metal = tuple(rng.uniform(20, 60, 3))
    pen.line(np.array([[cx, desk_bottom], [cx, height + 5]]), metal, 3.0)
    pen.poly(np.array([[cx - dw / 2, top], [cx + dw / 2, top], [cx + 0.55 * dw, desk_bottom],
                       [cx - 0.55 * dw, desk_bottom]]), metal)
    pen.poly(np.array([[cx - 0.4 * dw, top + 2], [cx + 0.4 * dw, top + 2],
                       [cx + 0.42 * dw, desk_bottom - 3], [cx - 0.42 * dw, desk_bottom - 3]]),
             (240, 238, 228))
    for y in np.linspace(top + 5, desk_bottom - 6, 5):
        pen.line(np.array([[cx - 0.35 * dw, y], [cx + 0.35 * dw, y]]), (60, 60, 60), 1.0)


def _plant(pen: Pen, rng: np.random.Generator, cx: float, top: float, bw: float, bh: float,
           height: int) -> None:
    """A potted plant standing at the frame bottom."""
    pot_top = max(top + 0.45 * (height - top), height - 40)
    green = tuple(np.array([40, 120, 40]) + rng.uniform(-25, 25, 3))
    for _ in range(int(rng.integers(6, 12))):
        lx, ly = cx + rng.uniform(-0.3, 0.3) * bw, rng.uniform(top, pot_top)
        pen.ellipse(lx, ly, rng.uniform(4, 10), rng.uniform(10, 20), green,
                    angle=rng.uniform(-60, 60))
    pen.poly(np.array([[cx - 18, pot_top], [cx + 18, pot_top], [cx + 13, height + 2],
                       [cx - 13, height + 2]]), tuple(rng.uniform(90, 190, 3)))


def _chair_back(pen: Pen, rng: np.random.Generator, cx: float, top: float, bw: float,
                bh: float, height: int) -> None:
    """A wooden chair back (top rail and slats) rising from the frame bottom."""
    cw = rng.uniform(0.4, 0.8) * bw
    wood = tuple(np.array([120, 75, 40]) + rng.uniform(-30, 30, 3))
    pen.poly(np.array([[cx - cw / 2, top], [cx + cw / 2, top], [cx + cw / 2, top + 8],
                       [cx - cw / 2, top + 8]]), wood)
    for sx in np.linspace(cx - cw / 2 + 2, cx + cw / 2 - 2, 4):
        pen.line(np.array([[sx, top + 6], [sx, height + 4]]), wood, 4.0)


def _audience(pen: Pen, rng: np.random.Generator, cx: float, top: float, bw: float, bh: float,
              height: int) -> None:
    """The dark head and shoulders of someone in the audience."""
    r = rng.uniform(0.12, 0.2) * max(bw, bh) + 8
    dark = tuple(rng.uniform(10, 60, 3))
    pen.ellipse(cx, top + r, 0.85 * r, r, dark)
    pen.ellipse(cx, top + 2.6 * r, 2.2 * r, 1.0 * r, dark)
    pen.poly(np.array([[cx - 2.2 * r, top + 2.6 * r], [cx + 2.2 * r, top + 2.6 * r],
                       [cx + 2.4 * r, height + 2], [cx - 2.4 * r, height + 2]]), dark)


_OCCLUDERS = (_music_stand, _plant, _chair_back, _audience)


def _occluder(rng: np.random.Generator, box: np.ndarray, width: int,
              height: int) -> tuple[int, int, np.ndarray]:
    """A static object in front covering part of ``box [x0, y0, x1, y1]``: a music stand,
    plant, chair back or audience head rising from the bottom of the frame.

    Returns:
        ``(x0, y0, bgra (h, w, 4))``: the premultiplied occluder cropped to its pixels.
    """
    pen = Pen(width, height)
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    cx = rng.uniform(x0 + 0.2 * bw, x1 - 0.2 * bw)
    top = y1 - rng.uniform(0.3, 0.6) * bh
    draw = _OCCLUDERS[int(rng.integers(len(_OCCLUDERS)))]
    draw(pen, rng, cx, top, bw, bh, height)
    return _crop(_pen_to_bgra(pen)[:height, :width])


# ----------------------------------------------------------------------------- renderer


class SceneRenderer:
    """Deterministic renderer of one clip's video from per-slot musical timing.

    Args:
        slots: one :class:`SlotVisual` per source, in the clip's slot order.
        config: frame size, frame rate and duration.
        seed: non-negative seed; the whole scene (layout, colours, lighting, noise) follows
            from it.
    """

    def __init__(self, slots: list[SlotVisual], config: SynthConfig, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        unknown = [s.class_name for s in slots if s.class_name not in _STYLES]
        if unknown:
            raise ValueError(f"unknown instrument classes {unknown}; known: {', '.join(CLASSES)}")
        if not slots:
            raise ValueError("a scene needs at least one slot")
        self.slots = list(slots)
        self.config = config
        self.seed = int(seed)
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
        self._background = _background(streams[0], config.width, config.height)
        self._layout(streams[1], streams[2])
        self._occluder = self._make_occluder(streams[3])
        self._lighting(streams[4])

    # -- construction

    def _layout(self, rng: np.random.Generator, player_rng: np.random.Generator) -> None:
        """Place instruments and players; order them back to front."""
        placer = _Placer(self.config, len(self.slots))
        columns = rng.permutation(len(self.slots))
        self._slots: list[_Slot] = []
        for slot, column in zip(self.slots, columns):
            layer, motion, flip = placer.instrument(rng, slot, int(column))
            torso = self.config.height * rng.uniform(0.26, 0.34)
            player = _player_for(player_rng, slot, layer, flip, torso)
            self._slots.append(_Slot(layer, player, motion))
        bottoms = [self._rest_box(i)[3] for i in range(len(self._slots))]
        self._order = [int(i) for i in np.argsort(bottoms, kind="stable")]

    def _rest_box(self, slot: int) -> np.ndarray:
        """Corner bounding box ``[x0, y0, x1, y1]`` of an instrument at rest."""
        layer = self._slots[slot].instrument
        pts = _apply(layer.rest, _corners(layer.sprite))
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)])

    def _make_occluder(self, rng: np.random.Generator) -> tuple[int, int, np.ndarray] | None:
        """An occluder in front of one random instrument in about 30% of scenes, covering
        10-50% of it at rest (``None`` when no placement within that range is found)."""
        if rng.random() >= 0.3:
            return None
        target = int(rng.integers(len(self._slots)))
        layer = self._slots[target].instrument
        rest = _warp(layer, layer.rest, self.config.width, self.config.height)
        mask = self._mask(rest)
        for _ in range(12):
            occluder = _occluder(rng, self._rest_box(target), self.config.width,
                                 self.config.height)
            x0, y0, bgra = occluder
            cover = np.zeros_like(mask)
            cover[y0:y0 + bgra.shape[0], x0:x0 + bgra.shape[1]] = bgra[:, :, 3] >= _COVER_ALPHA
            if 0.1 <= (mask & cover).sum() / max(mask.sum(), 1) <= 0.5:
                return occluder
        return None

    def _lighting(self, rng: np.random.Generator) -> None:
        """Per-clip lighting drift, colour cast, blur and noise parameters."""
        self._gain = rng.uniform(0.8, 1.15)
        self._contrast = rng.uniform(0.8, 1.1)
        self._cast = rng.uniform(0.88, 1.12, 3)
        self._drift = (rng.uniform(0.03, 0.1), rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi))
        self._bias = rng.uniform(-12, 12)
        sigma = rng.uniform(1.0, 4.0)
        quantiles = _normal_quantiles(256) * sigma
        self._noise_up = np.clip(np.round(quantiles), 0, 255).astype(np.uint8)
        self._noise_down = np.clip(np.round(-quantiles), 0, 255).astype(np.uint8)
        self._blur = rng.uniform(0.5, 0.9) if rng.random() < 0.3 else 0.0

    # -- per frame

    def _poses(self, index: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per slot ``(instrument matrix, player matrix)`` ``(3, 3)`` at frame ``index``."""
        if not 0 <= index < self.config.n_frames:
            raise IndexError(f"frame {index} outside 0..{self.config.n_frames - 1}")
        return [(s.motion[index] @ s.instrument.rest, s.motion[index] @ s.player.rest)
                for s in self._slots]

    def _instrument_warps(self, index: int) -> list[tuple[int, int, np.ndarray] | None]:
        """Warped instrument layers per slot at frame ``index``."""
        w, h = self.config.width, self.config.height
        return [_warp(s.instrument, pose[0], w, h)
                for s, pose in zip(self._slots, self._poses(index))]

    def _render(self, index: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
        """Frame BGR ``(H, W, 3)``, instrument masks, boxes ``(slots, 4)``, visible ``(slots,)``."""
        w, h = self.config.width, self.config.height
        canvas = self._background.copy()
        poses = self._poses(index)
        instruments = self._instrument_warps(index)
        layers: list[tuple[int, tuple[int, int, np.ndarray] | None]] = []
        for i in self._order:
            player = _warp(self._slots[i].player, poses[i][1], w, h)
            layers += [(-1, player), (i, instruments[i])]
        if self._occluder is not None:
            layers.append((-1, self._occluder))
        for _, warped in layers:
            if warped is not None:
                _composite(canvas, *warped)
        masks = [self._mask(warped) for warped in instruments]
        visible = self._visible(layers, masks)
        boxes = np.stack([_tight_box(m) for m in masks])
        return self._finish(canvas, index), masks, boxes, visible

    def _mask(self, warped: tuple[int, int, np.ndarray] | None) -> np.ndarray:
        """Full-frame boolean mask ``(H, W)`` of a warped layer's alpha > 0."""
        mask = np.zeros((self.config.height, self.config.width), bool)
        if warped is not None:
            x0, y0, bgra = warped
            mask[y0:y0 + bgra.shape[0], x0:x0 + bgra.shape[1]] = bgra[:, :, 3] > 0
        return mask

    def _visible(self, layers: list[tuple[int, tuple[int, int, np.ndarray] | None]],
                 masks: list[np.ndarray]) -> np.ndarray:
        """Fraction ``(slots,)`` of each instrument mask not covered by later layers."""
        cover = np.zeros((self.config.height, self.config.width), bool)
        visible = np.zeros(len(masks), np.float64)
        for slot, warped in reversed(layers):
            if slot >= 0:
                total = masks[slot].sum()
                visible[slot] = (masks[slot] & ~cover).sum() / total if total else 0.0
            if warped is not None:
                x0, y0, bgra = warped
                cover[y0:y0 + bgra.shape[0], x0:x0 + bgra.shape[1]] |= \
                    bgra[:, :, 3] >= _COVER_ALPHA
        return visible

    def _finish(self, canvas: np.ndarray, index: int) -> np.ndarray:
        """Lighting drift and colour cast (a per-frame LUT), optional blur and Gaussian sensor
        noise (random bytes mapped through an inverse-CDF table) -> BGR uint8 ``(H, W, 3)``."""
        t = index / self.config.fps
        depth, rate, phase = self._drift
        gain = self._gain * (1.0 + depth * np.sin(2 * np.pi * rate * t + phase)) * self._cast
        levels = np.arange(256.0)[:, None]
        lut = (levels - 128.0) * self._contrast * gain + 128.0 * gain + self._bias
        image = cv2.LUT(canvas, np.clip(np.round(lut), 0, 255).astype(np.uint8)[None])
        if self._blur > 0:
            image = cv2.GaussianBlur(image, (0, 0), self._blur)
        rng = np.random.default_rng([self.seed, index, 0x5CE7E])
        noise = np.frombuffer(rng.bytes(image.size), np.uint8).reshape(image.shape)
        image = cv2.add(image, cv2.LUT(noise, self._noise_up))
        return cv2.subtract(image, cv2.LUT(noise, self._noise_down))

    # -- public

    def frame(self, index: int,
              return_masks: bool = False) -> np.ndarray | tuple[np.ndarray, list[np.ndarray]]:
        """Frame ``index`` as BGR uint8 ``(H, W, 3)``.

        With ``return_masks`` also a list of per-slot boolean masks ``(H, W)``: the instrument's
        own warped alpha > 0, before any occlusion.
        """
        image, masks, _, _ = self._render(index)
        return (image, masks) if return_masks else image

    def boxes(self, index: int) -> np.ndarray:
        """Tight instrument boxes ``(slots, 4)`` float32 ``[x0, y0, x1, y1]`` at frame ``index``.

        Pixel-edge coordinates: the instrument's pixels are the columns ``x0 <= x < x1`` and rows
        ``y0 <= y < y1``; boxes are clipped to the frame.
        """
        masks = [self._mask(warped) for warped in self._instrument_warps(index)]
        return np.stack([_tight_box(m) for m in masks])

    def visible_fraction(self, index: int) -> np.ndarray:
        """Fraction ``(slots,)`` of each instrument's pixels not covered by anything in front
        (the occluder, or another slot's player or instrument)."""
        return self._render(index)[3]

    def write_video(self, path: Path, progress: ProgressFn | None = None) -> dict:
        """Render all ``config.n_frames`` frames into an mp4 ('mp4v') at ``path``.

        ``path`` is the .mp4 file (e.g. ``clip_dir / "video.mp4"``); an existing directory gets
        ``video.mp4`` inside it. ``progress(done, total)`` is called after each frame.

        Returns:
            ``{"boxes": [[[x0, y0, x1, y1] per slot] per frame], "visible": [[fraction per
            slot] per frame]}`` rounded to 0.1 px and 1e-3.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "video.mp4"
        size = (self.config.width, self.config.height)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"),
                                 float(self.config.fps), size)
        if not writer.isOpened():
            raise RuntimeError(f"cannot open an mp4v video writer for {path}")
        boxes, visible = [], []
        total = self.config.n_frames
        try:
            for index in range(total):
                image, _, frame_boxes, frame_visible = self._render(index)
                writer.write(image)
                boxes.append([[round(float(v), 1) for v in box] for box in frame_boxes])
                visible.append([round(float(v), 3) for v in frame_visible])
                if progress is not None:
                    progress(index + 1, total)
        finally:
            writer.release()
        return {"boxes": boxes, "visible": visible}


def _normal_quantiles(n: int) -> np.ndarray:
    """Standard normal quantiles ``(n,)`` at probabilities ``(k + 0.5) / n``."""
    from scipy.special import ndtri

    return ndtri((np.arange(n) + 0.5) / n)


def _tight_box(mask: np.ndarray) -> np.ndarray:
    """Pixel-edge box ``[x0, y0, x1, y1]`` float32 of a boolean mask ``(H, W)``; zeros if empty."""
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        return np.zeros(4, np.float32)
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)
