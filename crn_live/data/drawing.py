"""Procedural instrument sprites drawn with OpenCV primitives.

Every class in :data:`CLASSES` has one drawing function built from anti-aliased polygons,
ellipses and lines (no bitmaps, no fonts). :func:`draw_instrument` returns an RGBA sprite in the
instrument's canonical orientation with randomised colours (wood, brass, silver, lacquer),
proportions (about +-15%) and details (string, key and button counts), so that a detector trained
on rendered scenes sees many variants of each class.

Drawing happens on a premultiplied RGBA canvas (OpenCV's anti-aliased blending is exactly the
premultiplied "over" operator); the canvas is un-premultiplied and cropped at the end.
"""

from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

from crn_live.instruments import CLASSES

CLASS_DESCRIPTIONS: dict[str, str] = {
    "Banjo": "Round drum-head body (cream head, metal brackets, wooden rim) with a long thin "
             "fretted neck, five strings, four pegs on the peghead and a fifth peg on the neck.",
    "Cello": "Large varnished body with C-bouts, f-holes, bridge, tailpiece and four strings, "
             "a short neck with scroll and pegs, deep ribs and a metal endpin; placed large "
             "and upright.",
    "Drum": "Either a drum kit (bass drum, toms, snare, cymbals on stands) or a single "
            "lacquered drum cylinder with a white head, metal rims, lugs and crossed sticks.",
    "Guitar": "Figure-8 body (natural, sunburst or lacquer) with a round sound hole and "
              "rosette, bridge, six strings and a long fretted neck ending in a headstock "
              "with six tuners.",
    "Harp": "Triangular frame: straight pillar, diagonal soundbox and curved neck, with many "
            "vertical strings (red and blue marker strings).",
    "Harmonica": "Small flat horizontal bar: silver cover plates above and below a comb with "
                 "a row of square holes.",
    "Oboe": "Thin dark straight tube with a reed on top, silver rings, keys and rods, ending "
            "in a small flared bell.",
    "Piano": "Upright piano front (wooden or black case, music desk, keyboard with grouped "
             "black keys, pedals) or a grand piano from the side (black case on three legs, "
             "raised lid on its prop, keyboard, pedal lyre).",
    "Saxophone": "J-shaped conical brass body with a curved neck and black mouthpiece, pearl "
                 "key buttons and key cups, a U-bow and an upturned flared bell.",
    "Trombone": "Long slide of two parallel thin tubes joined by a crook, with braces, and a "
                "bell section ending in a large flared bell.",
    "Trumpet": "Compact looped brass tubing with a mouthpiece, three vertical piston valves "
               "with pearl finger buttons and a flared bell.",
    "Violin": "Small varnished body with C-bouts, f-holes, black fingerboard, bridge, "
              "tailpiece, chinrest, four strings and a scroll with pegs; usually held tilted.",
    "Flute": "Long thin silver horizontal tube with a lip plate and embouchure hole, a row of "
             "round key cups and a rod; no bell.",
    "Accordion": "Pleated zig-zag bellows between two lacquered boxes: a piano keyboard on one "
                 "side, a grid of bass buttons on the other.",
    "Horn": "French horn: concentric circular coils of brass tubing with rotary valves and "
            "levers, a leadpipe and a large flared bell.",
    "Clarinet": "Long black cylindrical body with a black mouthpiece, silver ligature, a "
                "bulging barrel, silver tenon rings and ring keys, ending in a wide flared bell.",
    "Bassoon": "Tall reddish-brown wooden double tube (long joint and wing joint) on a rounded "
               "boot, a pale ring at the top and a thin bent metal bocal with a reed.",
    "Viola": "A larger violin in a dark burgundy varnish: wider body, deeper ribs, f-holes, "
             "fingerboard, bridge, tailpiece, chinrest and a scroll with pegs.",
    "Double bass": "Very tall bowed instrument with sloped shoulders, a long neck, metal "
                   "machine tuners on the scroll, f-holes, bridge and a long endpin.",
    "Tuba": "Large brass body with a huge upward-facing bell, a bottom bow, a coil of "
            "tubing, four piston valves with pearl buttons and a leadpipe with mouthpiece.",
    "Xylophone": "Horizontal frame with a row of graded wooden bars (long to short), "
                 "resonator tubes below them, legs and two mallets.",
    "Electric bass": "Solid offset double-cutaway body (sunburst or coloured) with a "
                     "pickguard, two pickups, knobs and bridge; a long fretted neck with four "
                     "strings and four inline tuners on one side of the headstock.",
    "Ukulele": "Small figure-eight body with a sound hole, tie bridge, a short fretted neck, "
               "four strings and a crowned headstock with two tuners a side.",
    "Bagpipes": "Tartan bag with three black drones fanning up (ivory mounts, cord), a "
                "blowpipe and a chanter hanging down.",
    "Congas": "Two or three tall barrel-shaped drums of staves with metal hoops, tuning lugs "
              "and tan skin heads, standing on the floor.",
    "Erhu": "Small hexagonal resonator with a snakeskin face at the bottom of a long thin "
            "vertical neck with two pegs and a curved head, two strings and a bow across.",
    "Guzheng": "Long horizontal trapezoidal wooden zither with decorated ends, many strings "
               "and a diagonal row of small movable bridges, on two legs.",
    "Pipa": "Pear-shaped lute with a pale wooden face, many frets down the neck onto the "
            "body, a bridge, four strings and a short bent-back pegbox with lateral pegs.",
}

Color = tuple[float, float, float]
_SHIFT = 4
_SCALE = float(1 << _SHIFT)


# ----------------------------------------------------------------------------- colours


def _clip(color: Sequence[float]) -> Color:
    """Clamp an RGB triple to ``[0, 255]``."""
    r, g, b = (float(np.clip(v, 0.0, 255.0)) for v in color)
    return r, g, b


def _shade(color: Color, factor: float) -> Color:
    """Darken (< 1) or lighten (> 1) a colour."""
    return _clip([v * factor for v in color])


def _mix(a: Color, b: Color, t: float) -> Color:
    """Linear mix ``(1 - t) * a + t * b``."""
    return _clip([(1.0 - t) * x + t * y for x, y in zip(a, b)])


def _jitter(rng: np.random.Generator, color: Sequence[float], amount: float) -> Color:
    """Add independent uniform noise of +-``amount`` to each channel."""
    return _clip(np.asarray(color, float) + rng.uniform(-amount, amount, 3))


def _pick(rng: np.random.Generator, palette: Sequence[Color], amount: float = 14.0) -> Color:
    """A jittered random palette entry."""
    return _jitter(rng, palette[int(rng.integers(len(palette)))], amount)


def _wood(rng: np.random.Generator) -> Color:
    """A natural wood tone."""
    return _pick(rng, [(150, 85, 40), (115, 60, 28), (185, 118, 58), (92, 50, 25),
                       (200, 145, 85), (165, 72, 35)])


def _varnish(rng: np.random.Generator) -> Color:
    """An orange-red-brown violin varnish."""
    return _pick(rng, [(178, 82, 30), (150, 62, 25), (196, 110, 45), (130, 55, 28),
                       (168, 95, 40)], 16)


def _brass(rng: np.random.Generator) -> Color:
    """Lacquered brass, sometimes silver-plated or dark vintage."""
    return _pick(rng, [(218, 172, 70), (205, 160, 55), (226, 190, 95), (195, 150, 70),
                       (200, 200, 205), (170, 120, 50)], 12)


def _silver(rng: np.random.Generator) -> Color:
    """A slightly tinted silver."""
    v = rng.uniform(178, 228)
    return _clip([v + rng.uniform(-6, 6), v + rng.uniform(-6, 6), v + rng.uniform(-2, 10)])


def _lacquer(rng: np.random.Generator) -> Color:
    """A saturated or black/white lacquer colour."""
    return _pick(rng, [(180, 30, 35), (25, 25, 30), (235, 235, 235), (30, 60, 160),
                       (20, 110, 70), (120, 30, 120), (210, 120, 20), (110, 20, 25)], 18)


def _ebony(rng: np.random.Generator) -> Color:
    """Near-black wood or plastic."""
    return _jitter(rng, (32, 28, 26), 10)


def _ivory(rng: np.random.Generator) -> Color:
    """Off-white (drum heads, piano keys, pearls)."""
    return _jitter(rng, (240, 236, 222), 10)


def _rgba(color: Color) -> tuple[int, int, int, int]:
    """An OpenCV RGBA scalar of an RGB colour, fully opaque."""
    return int(round(color[0])), int(round(color[1])), int(round(color[2])), 255


# ----------------------------------------------------------------------------- geometry


def _j(rng: np.random.Generator, spread: float = 0.15) -> float:
    """A proportion jitter factor in ``[1 - spread, 1 + spread]``."""
    return float(rng.uniform(1.0 - spread, 1.0 + spread))


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float,
         n: int = 32, angle: float = 0.0) -> np.ndarray:
    """Points ``(n, 2)`` on an ellipse arc from ``a0`` to ``a1`` degrees (y down)."""
    t = np.deg2rad(np.linspace(a0, a1, n))
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _seg(p0: Sequence[float], p1: Sequence[float], n: int = 8) -> np.ndarray:
    """``n`` points ``(n, 2)`` on the segment ``p0 -> p1``."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - t) * np.asarray(p0, float) + t * np.asarray(p1, float)


def _join(*parts: np.ndarray) -> np.ndarray:
    """Concatenate paths ``(n_i, 2)``, dropping near-duplicate consecutive points."""
    pts = np.concatenate(parts, axis=0)
    keep = np.ones(len(pts), bool)
    keep[1:] = np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-3
    return pts[keep]


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Corners ``(4, 2)`` of an axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def _quad(x: float, y0: float, y1: float, w0: float, w1: float) -> np.ndarray:
    """A vertical trapezoid ``(4, 2)`` centred on ``x``; width ``w0`` at ``y0``, ``w1`` at y1."""
    return np.array([[x - w0 / 2, y0], [x + w0 / 2, y0], [x + w1 / 2, y1], [x - w1 / 2, y1]])


def _scaled(pts: np.ndarray, sx: float, sy: float | None = None) -> np.ndarray:
    """``pts (n, 2)`` scaled about their bounding-box centre."""
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    return centre + (pts - centre) * np.array([sx, sx if sy is None else sy])


def _profile(cx: float, top: float, bottom: float, half_width: float,
             controls: Sequence[tuple[float, float]], n: int = 120) -> np.ndarray:
    """A symmetric body outline ``(2n, 2)`` from half-width control points ``(t, w)``.

    ``t`` runs 0..1 from ``top`` to ``bottom``; ``w`` is relative to ``half_width``. Corners are
    smoothed and the ends rounded.
    """
    t = np.linspace(0.0, 1.0, n)
    ct, cw = np.array(controls, float).T
    w = np.interp(t, ct, cw)
    k = max(3, n // 12)
    w = np.convolve(np.pad(w, k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), "valid")
    w *= np.sqrt(np.clip(t * (1.0 - t) / 0.05, 0.0, 1.0)) * half_width
    y = top + t * (bottom - top)
    return np.concatenate([np.stack([cx + w, y], 1), np.stack([cx - w, y], 1)[::-1]])


def _outline(path: np.ndarray, widths: np.ndarray | float) -> np.ndarray:
    """Polygon ``(2n, 2)`` of a stroke of per-point ``widths`` along ``path (n, 2)``."""
    tangent = np.gradient(path, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    half = np.broadcast_to(np.asarray(widths, float), (len(path),))[:, None] / 2
    return np.concatenate([path + normal * half, (path - normal * half)[::-1]])


# ----------------------------------------------------------------------------- canvas


class Pen:
    """Anti-aliased drawing on a premultiplied RGBA canvas ``(h, w, 4)`` in float pixels.

    Colours are RGB triples; OpenCV's anti-aliased blending onto a 4-channel image is the
    premultiplied "over" operator, so ``img`` stays premultiplied throughout.
    """

    def __init__(self, width: float, height: float) -> None:
        self.img = np.zeros((int(np.ceil(height)) + 1, int(np.ceil(width)) + 1, 4), np.uint8)

    def poly(self, pts: np.ndarray, color: Color, edge: Color | None = None) -> None:
        """Fill polygon ``pts (n, 2)``, optionally with a 1 px outline."""
        fixed = np.round(np.asarray(pts) * _SCALE).astype(np.int32)
        cv2.fillPoly(self.img, [fixed], _rgba(color), cv2.LINE_AA, _SHIFT)
        if edge is not None:
            cv2.polylines(self.img, [fixed], True, _rgba(edge), 1, cv2.LINE_AA, _SHIFT)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, color: Color,
                edge: Color | None = None, angle: float = 0.0) -> None:
        """Fill an ellipse rotated by ``angle`` degrees."""
        n = int(np.clip(max(rx, ry), 12, 90))
        self.poly(_arc(cx, cy, max(rx, 0.3), max(ry, 0.3), 0, 360, n, angle), color, edge)

    def circle(self, cx: float, cy: float, r: float, color: Color,
               edge: Color | None = None) -> None:
        """Fill a circle."""
        self.ellipse(cx, cy, r, r, color, edge)

    def line(self, pts: np.ndarray, color: Color, width: float = 1.0) -> None:
        """A polyline ``pts (n, 2)``; widths below 1.5 px use a 1 px anti-aliased line."""
        pts = np.asarray(pts, float)
        if width >= 1.5:
            self.poly(_outline(pts, width), color)
            return
        fixed = np.round(pts * _SCALE).astype(np.int32)
        cv2.polylines(self.img, [fixed], False, _rgba(color), 1, cv2.LINE_AA, _SHIFT)

    def tube(self, path: np.ndarray, widths: np.ndarray | float, color: Color,
             shine: bool = True) -> None:
        """A shaded metal tube along ``path (n, 2)`` with per-point ``widths``."""
        widths = np.broadcast_to(np.asarray(widths, float), (len(path),))
        self.poly(_outline(path, widths), _shade(color, 0.62))
        self.poly(_outline(path, np.maximum(widths * 0.7, 0.6)), color)
        if shine and widths.mean() > 2.5:
            tangent = np.gradient(path, axis=0)
            tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
            normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
            self.line(path + normal * widths[:, None] * 0.18, _shade(color, 1.3),
                      max(1.0, widths.mean() * 0.16))

    def sprite(self) -> np.ndarray:
        """The straight-alpha RGBA sprite ``(h, w, 4)`` cropped to its content plus 2 px."""
        img = self.img.astype(np.float32)
        alpha = img[:, :, 3:]
        img[:, :, :3] = np.where(alpha > 0, img[:, :, :3] * 255.0 / np.maximum(alpha, 1), 0)
        out = np.clip(np.round(img), 0, 255).astype(np.uint8)
        ys, xs = np.nonzero(out[:, :, 3])
        if len(ys) == 0:
            raise RuntimeError("drawing produced an empty sprite")
        out = out[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        return np.pad(out, ((2, 2), (2, 2), (0, 0)))


# ----------------------------------------------------------------------------- strings


def _bowed(rng: np.random.Generator, size: int, cello: bool) -> np.ndarray:
    """A violin (small, chinrest) or cello (deep ribs, short neck, endpin), scroll up."""
    L = float(size)
    a = L * (0.185 if cello else 0.17) * _j(rng, 0.1)
    top, bottom = (0.30 * L, 0.88 * L) if cello else (0.37 * L, 0.985 * L)
    cx = a + 0.06 * L
    pen = Pen(2 * cx + 0.02 * L, L)
    varnish = _varnish(rng)
    if cello and rng.random() < 0.5:
        varnish = _shade(varnish, 0.8)
    body = _profile(cx, top, bottom, a, _VIOLIN_PROFILE)
    rib = (0.03 if cello else 0.012) * L
    pen.poly(body + [rib, 0.25 * rib], _shade(varnish, 0.45))
    pen.poly(body, _shade(varnish, 0.6))
    for k, s in enumerate((0.965, 0.9, 0.8, 0.65)):
        pen.poly(_scaled(body, s, 1 - (1 - s) * 0.5), _shade(varnish, 0.8 + 0.12 * k))
    pen.line(_scaled(body, 0.94, 0.97)[::2], _shade(varnish, 0.45), 1.0)
    _f_holes(pen, cx, top, bottom - top, a)
    _scroll_head(pen, rng, cx, L, top, cello)
    _bowed_strings(pen, rng, cx, L, top, bottom, a, cello)
    return pen.sprite()


_VIOLIN_PROFILE = (
    (0.0, 0.74), (0.1, 0.86), (0.2, 0.85), (0.28, 0.76), (0.33, 0.74), (0.36, 0.55),
    (0.5, 0.52), (0.61, 0.57), (0.64, 0.84), (0.7, 0.92), (0.8, 1.0), (0.9, 0.98), (1.0, 0.84),
)


def _f_holes(pen: Pen, cx: float, top: float, length: float, a: float) -> None:
    """Two mirrored S-shaped f-holes beside the waist."""
    t = np.linspace(0.0, 1.0, 20)
    for side in (-1.0, 1.0):
        x = cx + side * (0.42 * a + 0.1 * a * np.sin(np.pi * (t - 0.5)) * side)
        y = top + length * (0.43 + 0.22 * t)
        pts = np.stack([x, y], axis=1)
        width = max(1.0, 0.045 * a)
        pen.line(pts, (25, 15, 10), width)
        pen.circle(*pts[0], width * 1.2, (25, 15, 10))
        pen.circle(*pts[-1], width * 1.2, (25, 15, 10))


def _scroll_head(pen: Pen, rng: np.random.Generator, cx: float, L: float, top: float,
                 cello: bool) -> None:
    """Neck, pegbox with four pegs and scroll of a bowed instrument."""
    wood = _shade(_varnish(rng), 0.9)
    ebony = _ebony(rng)
    r = 0.032 * L
    box_bottom = 0.14 * L if not cello else 0.11 * L
    pen.poly(_quad(cx, 0.05 * L, top + 0.01 * L, 0.045 * L, 0.05 * L), _shade(wood, 0.8))
    pen.poly(_quad(cx, 0.05 * L, box_bottom, 0.038 * L, 0.04 * L), wood, _shade(wood, 0.5))
    pen.poly(_quad(cx, 0.06 * L, box_bottom - 0.01 * L, 0.014 * L, 0.016 * L), (20, 12, 8))
    for k, y in enumerate(np.linspace(0.065 * L, box_bottom - 0.012 * L, 4)):
        side = -1.0 if k % 2 == 0 else 1.0
        x0 = cx + side * 0.018 * L
        x1 = cx + side * 0.06 * L
        pen.line(_seg((x0, y), (x1, y), 2), ebony, max(1.5, 0.012 * L))
        pen.ellipse(x1, y, 0.012 * L, 0.016 * L, ebony)
    pen.circle(cx, r + 1, r, wood, _shade(wood, 0.5))
    pen.circle(cx + 0.15 * r, r + 1, 0.6 * r, _shade(wood, 0.75))
    pen.circle(cx + 0.25 * r, r + 1, 0.28 * r, _shade(wood, 1.15))


def _bowed_strings(pen: Pen, rng: np.random.Generator, cx: float, L: float, top: float,
                   bottom: float, a: float, cello: bool) -> None:
    """Fingerboard, bridge, tailpiece, strings and chinrest or endpin."""
    length = bottom - top
    nut = (0.11 if cello else 0.14) * L
    ebony = _ebony(rng)
    pen.poly(_quad(cx, nut, top + 0.5 * length, 0.032 * L, 0.05 * L), ebony)
    tail_top, tail_bottom = top + 0.72 * length, top + 0.97 * length
    pen.poly(_quad(cx, tail_top, tail_bottom, 0.4 * a, 0.2 * a), ebony, _shade(ebony, 1.8))
    bridge_y = top + 0.61 * length
    pen.poly(_quad(cx, bridge_y - 0.012 * L, bridge_y + 0.008 * L, 0.5 * a, 0.62 * a),
             (222, 190, 140))
    for x_nut, x_tail in zip(np.linspace(-0.012, 0.012, 4) * L, np.linspace(-0.13, 0.13, 4) * a):
        pen.line(_seg((cx + x_nut, nut), (cx + x_tail, tail_top), 2), (232, 232, 225), 1.0)
    if cello:
        pen.line(_seg((cx, bottom - 0.01 * L), (cx, 0.99 * L), 2), _silver(rng),
                 max(1.5, 0.012 * L))
        pen.circle(cx, 0.99 * L - 1, max(1.2, 0.01 * L), (20, 20, 20))
    else:
        pen.ellipse(cx - 0.5 * a, bottom - 0.045 * L, 0.32 * a, 0.045 * L, ebony)


def _draw_violin(rng: np.random.Generator, size: int) -> np.ndarray:
    """Violin, scroll up."""
    return _bowed(rng, size, cello=False)


def _draw_cello(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cello, scroll up, endpin down."""
    return _bowed(rng, size, cello=True)


_GUITAR_PROFILE = (
    (0.0, 0.62), (0.12, 0.74), (0.24, 0.71), (0.36, 0.57), (0.45, 0.57), (0.58, 0.8),
    (0.74, 1.0), (0.88, 0.99), (1.0, 0.78),
)


def _draw_guitar(rng: np.random.Generator, size: int) -> np.ndarray:
    """Acoustic guitar, headstock up."""
    L = float(size)
    a = 0.215 * L * _j(rng, 0.1)
    top, bottom = 0.45 * L * _j(rng, 0.05), L
    cx = a + 2
    pen = Pen(2 * cx, L)
    finish = _pick(rng, [(215, 170, 110), (190, 135, 70), (120, 60, 30), (25, 25, 28),
                         (170, 30, 30), (230, 205, 160)], 14)
    body = _profile(cx, top, bottom, a, _GUITAR_PROFILE)
    pen.poly(body, _shade(finish, 0.55))
    edge_fill = _shade(finish, 0.45) if rng.random() < 0.5 else _shade(finish, 0.85)
    pen.poly(_scaled(body, 0.97, 0.985), edge_fill)
    pen.poly(_scaled(body, 0.9, 0.94), finish)
    pen.poly(_scaled(body, 0.7, 0.78), _shade(finish, 1.08))
    length = bottom - top
    hole_y, hole_r = top + 0.33 * length, 0.36 * a * _j(rng, 0.1)
    pen.circle(cx, hole_y, hole_r * 1.35, _shade(finish, 0.6))
    pen.circle(cx, hole_y, hole_r * 1.2, _mix(finish, (240, 230, 200), 0.5))
    pen.circle(cx, hole_y, hole_r, (18, 12, 8))
    if rng.random() < 0.6:
        pen.ellipse(cx + 0.5 * a, hole_y + 0.75 * hole_r, 0.3 * a, 0.45 * hole_r,
                    _shade(_ebony(rng), 1.4), angle=-30)
    bridge_y = top + 0.74 * length
    pen.poly(_rect(cx - 0.42 * a, bridge_y - 0.018 * L, cx + 0.42 * a, bridge_y + 0.018 * L),
             _shade(_ebony(rng), 1.6))
    _fretted_neck(pen, rng, cx, L, 0.1 * L, top + 0.08 * length, 0.062 * L, 6, bridge_y)
    _headstock(pen, rng, cx, L, 6)
    return pen.sprite()


def _fretted_neck(pen: Pen, rng: np.random.Generator, cx: float, L: float, nut: float,
                  end: float, width: float, n_strings: int, bridge_y: float) -> None:
    """Neck with fretboard, frets, dot markers and strings down to ``bridge_y``."""
    wood = _wood(rng)
    board = _ebony(rng) if rng.random() < 0.6 else _shade(_wood(rng), 0.6)
    pen.poly(_quad(cx, nut - 0.01 * L, end, width * 1.05, width * 1.15), wood)
    pen.poly(_quad(cx, nut, end, width * 0.92, width * 1.05), board)
    scale = (bridge_y - nut) * 2.0
    fret_ys = nut + scale * (1.0 - 2.0 ** (-np.arange(1, 20) / 12.0))
    fret = _silver(rng)
    for k, y in enumerate(fret_ys[fret_ys < end - 2], start=1):
        half = width * (0.46 + 0.06 * (y - nut) / (end - nut))
        pen.line(_seg((cx - half, y), (cx + half, y), 2), fret, 1.0)
        if k in (3, 5, 7, 9, 12, 15):
            y_dot = y - (y - nut) * 0.03 if k != 12 else y - 0.01 * L
            pen.circle(cx, y_dot, max(0.8, 0.008 * L), (235, 235, 225))
    spread = np.linspace(-0.38, 0.38, n_strings)
    for s in spread:
        pen.line(_seg((cx + s * width, nut), (cx + s * width * 1.5, bridge_y), 2),
                 (225, 225, 215), 1.0)


def _headstock(pen: Pen, rng: np.random.Generator, cx: float, L: float, n_tuners: int) -> None:
    """A guitar headstock with tuners on both sides."""
    wood = _shade(_wood(rng), 0.8)
    pen.poly(np.array([[cx - 0.035 * L, 0.0], [cx + 0.035 * L, 0.0],
                       [cx + 0.03 * L, 0.11 * L], [cx - 0.03 * L, 0.11 * L]]) + [0, 2], wood,
             _shade(wood, 0.5))
    metal = _silver(rng) if rng.random() < 0.6 else _brass(rng)
    per_side = n_tuners // 2
    for k in range(per_side):
        y = 0.02 * L + (k + 0.5) * 0.085 * L / per_side
        for side in (-1.0, 1.0):
            pen.line(_seg((cx + side * 0.03 * L, y), (cx + side * 0.055 * L, y), 2), metal,
                     max(1.5, 0.008 * L))
            pen.ellipse(cx + side * 0.058 * L, y, 0.01 * L, 0.007 * L, metal, _shade(metal, 0.6))
    pen.line(_seg((cx - 0.03 * L, 0.1 * L), (cx + 0.03 * L, 0.1 * L), 2), _ivory(rng), 1.5)


def _draw_banjo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Five-string banjo, peghead up."""
    L = float(size)
    R = 0.2 * L * _j(rng, 0.1)
    cx, cy = R + 0.02 * L, L - R - 2
    pen = Pen(2 * cx, L)
    rim = _wood(rng)
    metal = _silver(rng)
    pen.circle(cx, cy, R, _shade(rim, 0.7))
    pen.circle(cx, cy, R * 0.93, rim)
    for ang in np.linspace(0, 360, int(rng.integers(16, 26)), endpoint=False):
        t = np.deg2rad(ang)
        pen.circle(cx + 0.9 * R * np.cos(t), cy + 0.9 * R * np.sin(t), 0.035 * R, metal)
    pen.circle(cx, cy, R * 0.84, metal, _shade(metal, 0.6))
    head = _ivory(rng) if rng.random() < 0.8 else _jitter(rng, (205, 185, 150), 10)
    pen.circle(cx, cy, R * 0.78, head)
    pen.circle(cx - 0.2 * R, cy - 0.2 * R, R * 0.4, _shade(head, 1.03))
    _fretted_neck(pen, rng, cx, L, 0.1 * L, cy - 0.74 * R, 0.045 * L, 5, cy + 0.35 * R)
    pen.poly(_rect(cx - 0.22 * R, cy + 0.32 * R, cx + 0.22 * R, cy + 0.38 * R), (225, 195, 140))
    pen.poly(_quad(cx, cy + 0.5 * R, cy + 0.95 * R, 0.18 * R, 0.08 * R), metal,
             _shade(metal, 0.6))
    wood = _shade(_wood(rng), 0.75)
    peg = np.array([[cx - 0.03 * L, 2], [cx + 0.03 * L, 2], [cx + 0.04 * L, 0.05 * L],
                    [cx + 0.026 * L, 0.11 * L], [cx - 0.026 * L, 0.11 * L],
                    [cx - 0.04 * L, 0.05 * L]])
    pen.poly(peg, wood, _shade(wood, 0.5))
    for y in (0.035 * L, 0.08 * L):
        for side in (-1.0, 1.0):
            pen.line(_seg((cx + side * 0.035 * L, y), (cx + side * 0.055 * L, y), 2), metal, 1.5)
            pen.circle(cx + side * 0.058 * L, y, 0.008 * L, _ivory(rng))
    y5 = 0.1 * L + 0.33 * (cy - 0.1 * L)
    pen.line(_seg((cx + 0.025 * L, y5), (cx + 0.048 * L, y5), 2), metal, 1.5)
    pen.circle(cx + 0.052 * L, y5, 0.008 * L, _ivory(rng))
    return pen.sprite()


def _draw_harp(rng: np.random.Generator, size: int) -> np.ndarray:
    """Concert/lever harp: pillar on the left, soundbox diagonal, curved neck on top."""
    L = float(size)
    W = 0.66 * L * _j(rng, 0.1)
    pen = Pen(W, L)
    frame = _wood(rng) if rng.random() < 0.6 else _jitter(rng, (212, 175, 80), 12)
    box_line = _seg((0.3 * W, 0.93 * L), (0.93 * W, 0.2 * L), 30)
    neck = _harp_neck(W, L)
    n_strings = int(rng.integers(14, 30))
    xs = np.linspace(0.22 * W, 0.86 * W, n_strings)
    top_y = np.interp(xs, neck[:, 0], neck[:, 1]) + 0.015 * L
    box_t = (xs - box_line[0, 0]) / (box_line[-1, 0] - box_line[0, 0])
    bottom_y = box_line[0, 1] + box_t * (box_line[-1, 1] - box_line[0, 1])
    for k, (x, y0, y1) in enumerate(zip(xs, top_y, bottom_y)):
        color = (200, 40, 40) if k % 7 == 0 else (40, 60, 170) if k % 7 == 3 else (238, 228, 200)
        pen.line(_seg((x, y0), (x, y1), 2), color, 1.0)
    pen.tube(box_line, np.linspace(0.12 * W, 0.045 * W, 30), frame, shine=True)
    pen.tube(neck, 0.045 * L, _shade(frame, 0.95))
    pen.tube(_seg((0.12 * W, 0.1 * L), (0.12 * W, 0.95 * L), 20), 0.055 * W, frame)
    pen.ellipse(0.12 * W, 0.075 * L, 0.05 * W, 0.04 * L, _shade(frame, 1.1), _shade(frame, 0.6))
    pen.poly(_rect(0.03 * W, 0.93 * L, 0.45 * W, 0.99 * L), _shade(frame, 0.7))
    return pen.sprite()


def _harp_neck(W: float, L: float) -> np.ndarray:
    """The S-curved harp neck ``(n, 2)`` from the pillar top to the soundbox top."""
    x = np.linspace(0.12 * W, 0.95 * W, 40)
    t = (x - x[0]) / (x[-1] - x[0])
    dip = 0.1 * np.sin(np.pi * t) ** 2 * (1 - t) - 0.06 * np.sin(2 * np.pi * t) * t
    y = L * (0.1 + 0.08 * t + dip)
    return np.stack([x, y], axis=1)


# ----------------------------------------------------------------------------- winds


def _draw_harmonica(rng: np.random.Generator, size: int) -> np.ndarray:
    """Harmonica seen from the front (mouth side)."""
    L = float(size)
    H = 0.24 * L * _j(rng, 0.12)
    pen = Pen(L, H)
    comb = _pick(rng, [(200, 160, 100), (225, 45, 40), (60, 110, 200), (235, 235, 235),
                       (225, 200, 60)], 12)
    pen.poly(_rect(0.03 * L, 0.33 * H, 0.97 * L, 0.67 * H), comb)
    n_holes = int(rng.choice([10, 10, 10, 12, 8]))
    xs = np.linspace(0.1 * L, 0.9 * L, n_holes)
    step = xs[1] - xs[0]
    for x in xs:
        pen.poly(_rect(x - 0.3 * step, 0.39 * H, x + 0.3 * step, 0.61 * H), (15, 12, 10))
    metal = _silver(rng)
    for y0, y1, k in ((0.0, 0.38, 1), (0.62, 1.0, -1)):
        plate = np.array([[0.0, y1 * H], [L, y1 * H], [0.97 * L, y0 * H + 2],
                          [0.03 * L, y0 * H + 2]])
        pen.poly(plate, _shade(metal, 0.7))
        pen.poly(_scaled(plate, 0.98, 0.7), metal)
        y_mid = (y0 + y1) / 2 * H
        pen.line(_seg((0.25 * L, y_mid), (0.75 * L, y_mid), 2), _shade(metal, 0.75), 1.0)
    return pen.sprite()


def _draw_oboe(rng: np.random.Generator, size: int) -> np.ndarray:
    """Oboe, reed up, bell down."""
    L = float(size)
    w = 0.04 * L * _j(rng, 0.12)
    cx = 0.075 * L
    pen = Pen(2 * cx, L)
    body = _pick(rng, [(30, 25, 25), (55, 30, 22), (20, 20, 22)], 8)
    metal = _silver(rng)
    pen.poly(_quad(cx, 0.0 + 2, 0.045 * L, 0.013 * L, 0.008 * L), (220, 190, 120))
    pen.poly(_quad(cx, 0.04 * L, 0.07 * L, 0.01 * L, 0.012 * L), (160, 110, 70))
    pen.poly(_quad(cx, 0.07 * L, 0.89 * L, w * 0.75, w * 1.1), body)
    bell = _join(_seg((cx - 0.55 * w, 0.86 * L), (cx - 0.6 * w, 0.93 * L), 4),
                 _arc(cx, 0.93 * L, 1.35 * w, 0.06 * L, 180, 90, 10))
    pen.poly(np.concatenate([bell, bell[::-1] * [-1, 1] + [2 * cx, 0]]), body)
    pen.ellipse(cx, 0.985 * L, 1.3 * w, 0.012 * L, _shade(body, 0.5), metal)
    pen.line(_seg((cx + 0.3 * w, 0.08 * L), (cx + 0.3 * w, 0.86 * L), 2), _shade(body, 2.2), 1.0)
    for y in (0.07 * L, 0.42 * L, 0.7 * L, 0.87 * L):
        pen.poly(_rect(cx - 0.6 * w, y - 0.006 * L, cx + 0.6 * w, y + 0.006 * L), metal)
    _woodwind_keys(pen, rng, cx, w, 0.1 * L, 0.84 * L, metal)
    return pen.sprite()


def _woodwind_keys(pen: Pen, rng: np.random.Generator, cx: float, w: float, y0: float,
                   y1: float, metal: Color) -> None:
    """Rods, ring keys and side levers along a vertical woodwind body."""
    pen.line(_seg((cx + 0.62 * w, y0), (cx + 0.62 * w, y1), 2), metal, max(1.0, 0.12 * w))
    pen.line(_seg((cx - 0.62 * w, y0 + 0.2 * (y1 - y0)), (cx - 0.62 * w, y1), 2), metal, 1.0)
    n = int(rng.integers(6, 10))
    for k, y in enumerate(np.linspace(y0 + 0.05 * (y1 - y0), y1, n)):
        pen.circle(cx, y, 0.32 * w, metal, _shade(metal, 0.6))
        pen.circle(cx, y, 0.14 * w, (15, 15, 15))
        side = 1.0 if k % 2 else -1.0
        pen.ellipse(cx + side * 0.6 * w, y + 0.02 * (y1 - y0), 0.2 * w, 0.4 * w, metal)


def _draw_flute(rng: np.random.Generator, size: int) -> np.ndarray:
    """Concert flute, horizontal, head joint on the left."""
    L = float(size)
    d = 0.03 * L * _j(rng, 0.1)
    H = 3.2 * d
    cy = H / 2
    pen = Pen(L, H)
    metal = _silver(rng) if rng.random() < 0.85 else _jitter(rng, (215, 185, 110), 10)
    pen.tube(_seg((0.015 * L, cy), (0.995 * L, cy), 20), d, metal)
    pen.ellipse(0.012 * L, cy, 0.012 * L, 0.55 * d, _shade(metal, 0.8))
    pen.ellipse(0.12 * L, cy - 0.05 * d, 0.04 * L, 0.75 * d, metal, _shade(metal, 0.6))
    pen.ellipse(0.12 * L, cy - 0.05 * d, 0.012 * L, 0.25 * d, (20, 20, 20))
    for x in (0.3 * L, 0.85 * L):
        pen.poly(_rect(x - 0.006 * L, cy - 0.6 * d, x + 0.006 * L, cy + 0.6 * d),
                 _shade(metal, 0.85), _shade(metal, 0.6))
    pen.line(_seg((0.36 * L, cy + 0.55 * d), (0.97 * L, cy + 0.55 * d), 2),
             _shade(metal, 0.8), 1.5)
    open_holes = rng.random() < 0.5
    n = int(rng.integers(11, 15))
    for x in np.linspace(0.4 * L, 0.8 * L, n):
        pen.circle(x, cy, 0.72 * d, _shade(metal, 1.05), _shade(metal, 0.55))
        if open_holes:
            pen.circle(x, cy, 0.22 * d, (25, 25, 25))
    for x in np.linspace(0.88 * L, 0.97 * L, 3):
        pen.circle(x, cy, 0.6 * d, _shade(metal, 1.05), _shade(metal, 0.55))
    return pen.sprite()


def _draw_saxophone(rng: np.random.Generator, size: int) -> np.ndarray:
    """Alto/tenor saxophone: neck top-left, J-shaped body, bell up on the right."""
    L = float(size)
    W = 0.56 * L * _j(rng, 0.08)
    pen = Pen(W, L)
    brass = _brass(rng)
    x_body, r_bow = 0.42 * W, 0.13 * L * _j(rng, 0.08)
    y_bow = 0.76 * L
    body = _join(_seg((x_body, 0.14 * L), (x_body, y_bow), 20),
                 _arc(x_body + r_bow, y_bow, r_bow, r_bow, 180, 0, 24),
                 _seg((x_body + 2 * r_bow, y_bow), (0.74 * W, 0.4 * L), 16))
    t = np.linspace(0.0, 1.0, len(body))
    widths = L * (0.05 + 0.07 * t + 0.1 * np.clip((t - 0.78) / 0.22, 0, 1) ** 2)
    neck = _join(_arc(x_body + 0.08 * W, 0.14 * L, 0.08 * W, 0.09 * L, 180, 250, 10),
                 _seg(_arc(x_body + 0.08 * W, 0.14 * L, 0.08 * W, 0.09 * L, 250, 250, 1)[0],
                      (0.12 * W, 0.03 * L), 8))
    pen.tube(neck, np.linspace(0.05 * L, 0.025 * L, len(neck)), brass)
    pen.tube(body, widths, brass)
    _sax_bell(pen, body[-1], body[-1] - body[-4], widths[-1], brass)
    _sax_keys(pen, rng, x_body, L, brass)
    mouth = _ebony(rng)
    pen.ellipse(0.1 * W, 0.025 * L, 0.05 * W, 0.016 * L, mouth, angle=-35)
    pen.poly(_rect(0.13 * W, 0.03 * L, 0.17 * W, 0.05 * L), _silver(rng))
    return pen.sprite()


def _sax_bell(pen: Pen, end: np.ndarray, direction: np.ndarray, width: float,
              brass: Color) -> None:
    """The flared bell opening at ``end`` facing along ``direction``."""
    direction = direction / np.linalg.norm(direction)
    angle = np.degrees(np.arctan2(direction[1], direction[0])) + 90.0
    pen.ellipse(end[0], end[1], width * 0.62, width * 0.2, _shade(brass, 0.75), angle=angle)
    pen.ellipse(end[0], end[1], width * 0.5, width * 0.13, (45, 30, 15), angle=angle)


def _sax_keys(pen: Pen, rng: np.random.Generator, x: float, L: float, brass: Color) -> None:
    """Pearl buttons, key cups and rods on the saxophone body."""
    pearl = _ivory(rng)
    pen.line(_seg((x + 0.035 * L, 0.18 * L), (x + 0.045 * L, 0.7 * L), 2),
             _shade(brass, 0.8), 1.5)
    for k, y in enumerate(np.linspace(0.22 * L, 0.68 * L, 7)):
        if k == 3:
            continue
        pen.circle(x - 0.004 * L, y, 0.017 * L, _shade(brass, 0.7))
        pen.circle(x - 0.004 * L, y, 0.012 * L, pearl)
    for y in np.linspace(0.25 * L, 0.72 * L, int(rng.integers(4, 7))):
        pen.circle(x + 0.045 * L, y, 0.024 * L, _shade(brass, 0.95), _shade(brass, 0.5))


def _draw_trumpet(rng: np.random.Generator, size: int) -> np.ndarray:
    """Trumpet, mouthpiece left, bell right."""
    L = float(size)
    H = 0.4 * L * _j(rng, 0.08)
    pen = Pen(L, H)
    brass = _brass(rng)
    d = 0.035 * L
    y_bell, y_lead, y_low = 0.3 * H, 0.58 * H, 0.86 * H
    xv = np.array([0.4, 0.48, 0.56]) * L * _j(rng, 0.05)
    loop_r = (y_low - y_bell) / 2
    lower = _join(_seg((xv[0], y_low), (0.2 * L, y_low), 6),
                  _arc(0.2 * L, y_bell + loop_r, loop_r, loop_r, 90, 270, 16),
                  _seg((0.2 * L, y_bell), (0.68 * L, y_bell), 12))
    pen.tube(lower, d, brass)
    r2 = (y_low - y_lead) / 2
    lead = _join(_seg((0.03 * L, y_lead), (0.78 * L, y_lead), 16),
                 _arc(0.78 * L, y_lead + r2, r2, r2, -90, 90, 12),
                 _seg((0.78 * L, y_low), (xv[2], y_low), 6))
    pen.tube(lead, np.linspace(0.6 * d, d, len(lead)), brass)
    bell_x = np.linspace(0.66 * L, L - 2, 20)
    tb = (bell_x - bell_x[0]) / (bell_x[-1] - bell_x[0])
    pen.tube(np.stack([bell_x, np.full(20, y_bell)], 1), d + (0.52 * H - d) * tb ** 3, brass)
    pen.ellipse(L - 2 - 0.012 * L, y_bell, 0.018 * L, 0.25 * H, _shade(brass, 0.7))
    _trumpet_valves(pen, rng, xv, H, d, brass)
    pen.poly(_quad(0.02 * L, y_lead - 0.55 * d, y_lead + 0.55 * d, 0.01 * L, 0.01 * L),
             _silver(rng))
    pen.ellipse(0.012 * L, y_lead, 0.01 * L, 0.75 * d, _silver(rng))
    return pen.sprite()


def _trumpet_valves(pen: Pen, rng: np.random.Generator, xv: np.ndarray, H: float, d: float,
                    brass: Color) -> None:
    """Three piston valve casings with stems and pearl finger buttons."""
    pearl = _ivory(rng)
    metal = _silver(rng) if rng.random() < 0.5 else _shade(brass, 1.1)
    w = 1.4 * d
    for x in xv:
        pen.line(_seg((x, 0.04 * H), (x, 0.14 * H), 2), metal, max(1.5, 0.25 * d))
        pen.ellipse(x, 0.05 * H, 0.75 * w / 2 + 1, 0.035 * H, pearl, _shade(pearl, 0.6))
        pen.poly(_rect(x - w / 2, 0.14 * H, x + w / 2, 0.98 * H - 2), _shade(brass, 0.65))
        pen.poly(_rect(x - 0.36 * w, 0.14 * H, x + 0.36 * w, 0.98 * H - 2), brass)
        for y in (0.16 * H, 0.95 * H):
            pen.poly(_rect(x - 0.58 * w, y - 0.025 * H, x + 0.58 * w, y + 0.025 * H), metal)


def _draw_trombone(rng: np.random.Generator, size: int) -> np.ndarray:
    """Tenor trombone, mouthpiece left, slide and bell pointing right."""
    L = float(size)
    H = 0.31 * L * _j(rng, 0.08)
    pen = Pen(L, H)
    brass = _brass(rng)
    d = 0.015 * L
    y_b = 0.42 * H
    x_bell = 0.6 * L * _j(rng, 0.05)
    y_s1, y_s2 = 0.72 * H, 0.9 * H
    r_t = (y_s1 - y_b) / 2
    section = _join(_seg((0.22 * L, y_s1), (0.06 * L, y_s1), 6),
                    _arc(0.06 * L, y_b + r_t, r_t, r_t, 90, 270, 12),
                    _seg((0.06 * L, y_b), (x_bell - 0.2 * L, y_b), 12))
    pen.tube(section, d, brass)
    bx = np.linspace(x_bell - 0.2 * L, x_bell, 24)
    tb = (bx - bx[0]) / (bx[-1] - bx[0])
    pen.tube(np.stack([bx, np.full(24, y_b)], 1), d + (0.82 * H - d) * tb ** 3.5, brass)
    pen.ellipse(x_bell - 0.01 * L, y_b, 0.015 * L, 0.39 * H, _shade(brass, 0.7))
    r_c = (y_s2 - y_s1) / 2
    x_end = (L - 2) - r_c - d / 2
    pen.tube(_join(_seg((0.15 * L, y_s1), (x_end, y_s1), 16),
                   _arc(x_end, y_s1 + r_c, r_c, r_c, -90, 90, 12),
                   _seg((x_end, y_s2), (0.2 * L, y_s2), 16)), d, brass)
    outer = _shade(brass, 1.05)
    for y in (y_s1, y_s2):
        pen.tube(_seg((0.52 * L, y), (x_end, y), 6), 1.35 * d, outer)
    for x in (0.24 * L, 0.56 * L):
        pen.line(_seg((x, y_s1), (x, y_s2), 2), _shade(brass, 0.85), max(1.5, 0.8 * d))
    pen.poly(_quad(0.13 * L, y_s1 - 0.5 * d, y_s1 + 0.5 * d, 0.4 * d, 0.4 * d), _silver(rng))
    pen.ellipse(0.125 * L, y_s1, 0.006 * L, 0.9 * d, _silver(rng))
    return pen.sprite()


def _draw_horn(rng: np.random.Generator, size: int) -> np.ndarray:
    """French horn: coiled tubing, rotary valves, bell flaring to the lower right."""
    L = float(size)
    pen = Pen(L, 0.92 * L)
    brass = _brass(rng)
    cx, cy, R = 0.36 * L, 0.36 * L, 0.27 * L * _j(rng, 0.08)
    d = 0.028 * L
    for k, r in enumerate((R, 0.82 * R, 0.64 * R)):
        pen.tube(_arc(cx, cy, r, r, 0, 360, 72), d * (1.0 - 0.12 * k), _shade(brass, 1 - 0.08 * k))
    bell = _join(_arc(cx, cy, R, R, 90, 20, 14),
                 _seg((cx + R * np.cos(np.deg2rad(20)), cy + R * np.sin(np.deg2rad(20))),
                      (0.8 * L, 0.72 * L), 18))
    t = np.linspace(0.0, 1.0, len(bell))
    pen.tube(bell, d + 0.36 * L * t ** 3.2, brass)
    end, prev = bell[-1], bell[-3]
    _sax_bell(pen, end, end - prev, d + 0.36 * L, brass)
    lead = _join(_arc(cx + 0.55 * R, cy - 0.2 * R, 0.5 * R, 0.8 * R, -100, -20, 10),
                 _seg((cx + 1.02 * R, cy - 0.45 * R), (cx + 0.9 * R, cy - 0.05 * R), 4))
    pen.tube(lead, np.linspace(0.45 * d, d, len(lead)), brass)
    tip = lead[0]
    pen.ellipse(tip[0], tip[1], 0.025 * L, 0.012 * L, _silver(rng))
    metal = _silver(rng) if rng.random() < 0.5 else _shade(brass, 1.1)
    for k in range(3):
        vx, vy = cx - 0.2 * R + k * 0.2 * R, cy + 0.05 * R
        pen.circle(vx, vy, 0.11 * R, _shade(metal, 0.7))
        pen.circle(vx, vy, 0.08 * R, metal)
        pen.line(_seg((vx, vy - 0.12 * R), (vx + 0.12 * R, vy - 0.5 * R), 2), metal, 1.5)
        pen.circle(vx + 0.12 * R, vy - 0.5 * R, 0.05 * R, _ivory(rng))
    return pen.sprite()


# ----------------------------------------------------------------------------- keys, drums


def _keyboard(pen: Pen, rng: np.random.Generator, x0: float, y0: float, x1: float,
              y1: float, n_white: int, vertical: bool = False) -> None:
    """A keyboard strip with white keys and black keys in 2-3 groups.

    Horizontal keyboards have keys pointing down (``y0`` at the far end); vertical ones have
    keys pointing right with the low keys at the bottom.
    """
    ivory = _ivory(rng)
    black = _ebony(rng)
    pen.poly(_rect(x0, y0, x1, y1), _shade(ivory, 0.6))
    span = (y1 - y0) if vertical else (x1 - x0)
    step = span / n_white
    has_black = (True, True, False, True, True, True, False)
    for k in range(n_white):
        a = (y0 if vertical else x0) + k * step
        if vertical:
            pen.poly(_rect(x0, a + 0.5, x1, a + step - 0.5), ivory)
        else:
            pen.poly(_rect(a + 0.5, y0, a + step - 0.5, y1), ivory)
    for k in range(n_white - 1):
        if not has_black[k % 7]:
            continue
        a = (y0 if vertical else x0) + (k + 1) * step
        if vertical:
            pen.poly(_rect(x0, a - 0.3 * step, x0 + 0.6 * (x1 - x0), a + 0.3 * step), black)
        else:
            pen.poly(_rect(a - 0.3 * step, y0, a + 0.3 * step, y0 + 0.62 * (y1 - y0)), black)


def _draw_piano(rng: np.random.Generator, size: int) -> np.ndarray:
    """An upright piano (front) or a grand piano (side view)."""
    return _upright_piano(rng, size) if rng.random() < 0.6 else _grand_piano(rng, size)


def _upright_piano(rng: np.random.Generator, size: int) -> np.ndarray:
    """Upright piano seen from the front."""
    L = float(size)
    H = 0.85 * L * _j(rng, 0.1)
    pen = Pen(L, H)
    case = _wood(rng) if rng.random() < 0.55 else _jitter(rng, (22, 20, 22), 8)
    dark, light = _shade(case, 0.65), _shade(case, 1.35) if sum(case) > 120 else (70, 70, 78)
    pen.poly(_rect(0.02 * L, 0.04 * H, 0.98 * L, 0.98 * H), case, dark)
    pen.poly(_rect(0.0, 0.0, L, 0.06 * H), _shade(case, 0.9), dark)
    pen.poly(_rect(0.1 * L, 0.1 * H, 0.9 * L, 0.42 * H), dark)
    pen.poly(_rect(0.12 * L, 0.12 * H, 0.88 * L, 0.4 * H), _mix(case, light, 0.3))
    pen.poly(_rect(0.3 * L, 0.3 * H, 0.7 * L, 0.46 * H), _shade(case, 0.8), dark)
    pen.poly(_rect(0.0, 0.5 * H, L, 0.56 * H), _shade(case, 0.85), dark)
    _keyboard(pen, rng, 0.06 * L, 0.56 * H, 0.94 * L, 0.65 * H, int(rng.integers(22, 40)))
    pen.poly(_rect(0.0, 0.56 * H, 0.06 * L, 0.68 * H), case, dark)
    pen.poly(_rect(0.94 * L, 0.56 * H, L, 0.68 * H), case, dark)
    pen.poly(_rect(0.02 * L, 0.65 * H, 0.98 * L, 0.68 * H), _shade(case, 0.8))
    pen.poly(_rect(0.14 * L, 0.72 * H, 0.86 * L, 0.92 * H), _mix(case, light, 0.2), dark)
    gold = _jitter(rng, (215, 175, 80), 10)
    for x in (0.43 * L, 0.5 * L, 0.57 * L):
        pen.poly(_rect(x - 0.015 * L, 0.93 * H, x + 0.015 * L, 0.97 * H), gold)
    return pen.sprite()


def _grand_piano(rng: np.random.Generator, size: int) -> np.ndarray:
    """Grand piano from the side-front: keyboard left, case and raised lid to the right."""
    L = float(size)
    H = 0.78 * L * _j(rng, 0.08)
    pen = Pen(L, H)
    case = _jitter(rng, (22, 20, 24), 8) if rng.random() < 0.75 else _wood(rng)
    edge = _shade(case, 2.2) if sum(case) < 150 else _shade(case, 0.6)
    rim_top, rim_bottom = 0.5 * H, 0.66 * H
    for x in (0.2 * L, 0.55 * L, 0.9 * L):
        pen.poly(_quad(x, rim_bottom - 2, 0.95 * H, 0.05 * L, 0.03 * L), _shade(case, 0.9), edge)
        pen.circle(x, 0.965 * H, 0.018 * L, (200, 165, 70))
    pen.line(_seg((0.38 * L, rim_bottom), (0.38 * L, 0.9 * H), 2), _shade(case, 0.9),
             0.02 * L)
    pen.poly(_rect(0.35 * L, 0.9 * H, 0.41 * L, 0.93 * H), (205, 170, 75))
    lid = np.array([[0.16 * L, rim_top], [0.99 * L, rim_top - 0.02 * H],
                    [0.42 * L, 0.02 * H]])
    pen.poly(lid, _shade(case, 1.25) if sum(case) < 150 else _shade(case, 0.8), edge)
    pen.line(_seg((0.62 * L, rim_top), (0.58 * L, 0.25 * H), 2), edge, max(1.5, 0.008 * L))
    pen.poly(np.array([[0.18 * L, rim_top - 0.05 * H], [0.97 * L, rim_top - 0.06 * H],
                       [0.97 * L, rim_top], [0.18 * L, rim_top]]), _jitter(rng, (205, 165, 70), 10))
    body = _join(np.array([[0.12 * L, rim_top]]), _seg((0.9 * L, rim_top), (0.9 * L, rim_top), 1),
                 _arc(0.9 * L, (rim_top + rim_bottom) / 2, 0.09 * L, (rim_bottom - rim_top) / 2,
                      -90, 90, 12), np.array([[0.12 * L, rim_bottom]]))
    pen.poly(body, case, edge)
    pen.poly(_rect(0.0, 0.49 * H, 0.22 * L, 0.63 * H), _shade(case, 0.85), edge)
    _keyboard(pen, rng, 0.01 * L, 0.5 * H, 0.21 * L, 0.59 * H, int(rng.integers(10, 15)))
    return pen.sprite()


def _draw_drum(rng: np.random.Generator, size: int) -> np.ndarray:
    """A drum kit (front view) or a single drum with sticks."""
    return _drum_kit(rng, size) if rng.random() < 0.5 else _single_drum(rng, size)


def _drum_shell(pen: Pen, cx: float, top: float, rx: float, depth: float, shell: Color,
                head: Color, metal: Color) -> None:
    """A drum cylinder seen slightly from above: shell, lugs, hoops and top head."""
    ry = 0.3 * rx
    bottom = top + depth
    pen.ellipse(cx, bottom, rx, ry, _shade(shell, 0.6))
    pen.poly(_rect(cx - rx, top, cx + rx, bottom), shell)
    pen.poly(_rect(cx - 0.55 * rx, top, cx - 0.3 * rx, bottom), _shade(shell, 1.25))
    for x in np.linspace(cx - 0.8 * rx, cx + 0.8 * rx, 5):
        pen.poly(_rect(x - 0.04 * rx, top + 0.3 * depth, x + 0.04 * rx, bottom - 0.3 * depth),
                 metal)
    pen.poly(_join(_arc(cx, bottom, rx, ry, 0, 180, 24),
                   _arc(cx, bottom - 0.06 * depth, rx, ry, 180, 0, 24)), metal)
    pen.ellipse(cx, top, rx, ry, metal)
    pen.ellipse(cx, top, 0.95 * rx, 0.85 * ry, head)


def _single_drum(rng: np.random.Generator, size: int) -> np.ndarray:
    """A snare or tom with two crossed sticks above it."""
    L = float(size)
    rx = 0.45 * L
    depth = rx * rng.uniform(0.45, 0.9)
    pen = Pen(L, 0.3 * L + 0.3 * rx + depth + 0.3 * rx)
    top = 0.3 * L + 0.3 * rx
    _drum_shell(pen, L / 2, top, rx, depth, _lacquer(rng), _ivory(rng), _silver(rng))
    stick = _jitter(rng, (215, 180, 120), 12)
    for side in (-1.0, 1.0):
        p0 = (L / 2 - side * 0.35 * L, 0.02 * L)
        p1 = (L / 2 + side * 0.25 * L, top - 0.05 * L)
        pen.line(_seg(p0, p1, 2), stick, max(1.5, 0.022 * L))
        pen.circle(*p0, max(1.0, 0.018 * L), _shade(stick, 1.1))
    return pen.sprite()


def _drum_kit(rng: np.random.Generator, size: int) -> np.ndarray:
    """A drum kit from the front: bass drum, toms, snare, cymbals, hi-hat."""
    L = float(size)
    H = 0.8 * L
    pen = Pen(L, H)
    shell, metal, head = _lacquer(rng), _silver(rng), _ivory(rng)
    bronze = _jitter(rng, (205, 160, 60), 12)
    for x, y, r, a in ((0.14, 0.17, 0.13, -12), (0.86, 0.12, 0.14, 10), (0.08, 0.42, 0.09, 0)):
        pen.line(_seg((x * L, y * H), (x * L, 0.99 * H), 2), metal, 1.5)
        pen.ellipse(x * L, y * H, r * L, 0.025 * L, bronze, _shade(bronze, 0.6), angle=a)
    pen.ellipse(0.08 * L, 0.44 * H, 0.09 * L, 0.022 * L, bronze, _shade(bronze, 0.6))
    _drum_shell(pen, 0.8 * L, 0.55 * H, 0.13 * L, 0.22 * H, shell, head, metal)
    _drum_shell(pen, 0.22 * L, 0.6 * H, 0.11 * L, 0.09 * H, _shade(metal, 0.9), head, metal)
    R = 0.22 * L * _j(rng, 0.08)
    by = H - R - 2
    pen.circle(0.5 * L, by, R, metal)
    pen.circle(0.5 * L, by, 0.93 * R, shell)
    front = head if rng.random() < 0.5 else _shade(shell, 0.7)
    pen.circle(0.5 * L, by, 0.82 * R, front)
    pen.circle(0.5 * L, by, 0.35 * R, _mix(front, shell, 0.5))
    for ang in np.linspace(0, 360, 10, endpoint=False):
        t = np.deg2rad(ang)
        pen.circle(0.5 * L + 0.965 * R * np.cos(t), by + 0.965 * R * np.sin(t), 0.04 * R, metal)
    for x in (0.38, 0.62):
        _drum_shell(pen, x * L, by - R - 0.04 * H, 0.095 * L, 0.12 * H, shell, head, metal)
    return pen.sprite()


def _draw_accordion(rng: np.random.Generator, size: int) -> np.ndarray:
    """Piano accordion: keyboard box left, pleated bellows, bass-button box right."""
    L = float(size)
    H = 0.75 * L * _j(rng, 0.1)
    pen = Pen(L, H)
    box = _lacquer(rng)
    metal = _silver(rng)
    x_l, x_r = 0.34 * L, 0.7 * L
    _bellows(pen, rng, x_l, x_r, 0.05 * H, 0.95 * H, metal)
    pen.poly(_rect(0.0, 0.0, x_l, H), _shade(box, 0.7))
    pen.poly(_rect(0.02 * L, 0.02 * H, x_l - 0.01 * L, H - 0.02 * H), box)
    pen.poly(_rect(0.14 * L, 0.06 * H, x_l - 0.03 * L, 0.3 * H), metal, _shade(metal, 0.6))
    for x in np.linspace(0.16 * L, x_l - 0.05 * L, 5):
        for y in np.linspace(0.09 * H, 0.27 * H, 4):
            pen.circle(x, y, 0.008 * L, _shade(metal, 0.55))
    _keyboard(pen, rng, 0.03 * L, 0.08 * H, 0.13 * L, 0.95 * H, int(rng.integers(16, 26)),
              vertical=True)
    pen.poly(_rect(x_r, 0.0, L, H), _shade(box, 0.7))
    pen.poly(_rect(x_r + 0.01 * L, 0.02 * H, L - 0.02 * L, H - 0.02 * H), box)
    pearl = _ivory(rng) if sum(box) < 450 or rng.random() < 0.5 else _ebony(rng)
    rows, cols = int(rng.integers(5, 7)), int(rng.integers(9, 14))
    for i in range(rows):
        for k in range(cols):
            x = x_r + 0.05 * L + i * 0.04 * L + 0.012 * L * (k % 2)
            y = 0.08 * H + k * 0.84 * H / (cols - 1)
            pen.circle(x + 0.008 * L * k / cols, y, 0.012 * L, pearl, _shade(pearl, 0.55))
    return pen.sprite()


def _bellows(pen: Pen, rng: np.random.Generator, x0: float, x1: float, y0: float, y1: float,
             metal: Color) -> None:
    """Pleated bellows between ``x0`` and ``x1``: alternating folds with metal corners."""
    fabric = _pick(rng, [(30, 30, 35), (150, 20, 25), (25, 40, 110), (230, 230, 230)], 10)
    inner = _pick(rng, [(220, 220, 220), (200, 40, 40), (30, 30, 30)], 10)
    n = int(rng.integers(8, 14))
    xs = np.linspace(x0, x1, 2 * n + 1)
    dip = 0.035 * (y1 - y0)
    for k in range(2 * n):
        a, b = xs[k], xs[k + 1]
        inward = k % 2 == 0
        ya0, yb0 = (y0, y0 + dip) if inward else (y0 + dip, y0)
        ya1, yb1 = (y1, y1 - dip) if inward else (y1 - dip, y1)
        color = _shade(fabric, 1.25) if inward else _shade(fabric, 0.8)
        pen.poly(np.array([[a, ya0], [b, yb0], [b, yb1], [a, ya1]]), color)
        pen.line(_seg((a, ya0), (a, ya1), 2), inner if k % 4 == 0 else _shade(fabric, 0.5), 1.0)
    for x in xs[::2]:
        for y, s in ((y0, 1.0), (y1, -1.0)):
            pen.poly(np.array([[x - 0.012 * (x1 - x0), y], [x + 0.012 * (x1 - x0), y],
                               [x, y + s * 0.05 * (y1 - y0)]]), metal)


# ----------------------------------------------------------------------------- extended classes


def _dark_varnish(rng: np.random.Generator) -> Color:
    """A dark red-brown (burgundy) varnish, redder and darker than :func:`_varnish`."""
    return _pick(rng, [(112, 34, 24), (128, 40, 22), (96, 28, 26), (138, 48, 30),
                       (118, 30, 36)], 10)


def _draw_viola(rng: np.random.Generator, size: int) -> np.ndarray:
    """Viola, scroll up: a wider, deeper-ribbed violin body in a dark burgundy varnish."""
    L = float(size)
    a = 0.2 * L * _j(rng, 0.06)
    top, bottom = 0.35 * L, 0.985 * L
    cx = a + 0.06 * L
    pen = Pen(2 * cx + 0.03 * L, L)
    varnish = _dark_varnish(rng)
    body = _profile(cx, top, bottom, a, _VIOLA_PROFILE)
    rib = 0.02 * L
    pen.poly(body + [rib, 0.25 * rib], _shade(varnish, 0.4))
    pen.poly(body, _shade(varnish, 0.55))
    for k, s in enumerate((0.965, 0.9, 0.8, 0.65)):
        pen.poly(_scaled(body, s, 1 - (1 - s) * 0.5), _shade(varnish, 0.78 + 0.1 * k))
    pen.line(_scaled(body, 0.94, 0.97)[::2], (20, 12, 10), 1.0)
    _f_holes(pen, cx, top, bottom - top, a)
    wood = _shade(varnish, 0.9)
    ebony = _ebony(rng)
    r = 0.034 * L
    pen.poly(_quad(cx, 0.05 * L, top + 0.01 * L, 0.05 * L, 0.055 * L), _shade(wood, 0.8))
    pen.poly(_quad(cx, 0.05 * L, 0.14 * L, 0.042 * L, 0.044 * L), wood, _shade(wood, 0.5))
    pen.poly(_quad(cx, 0.06 * L, 0.13 * L, 0.016 * L, 0.018 * L), (20, 12, 8))
    for k, y in enumerate(np.linspace(0.065 * L, 0.128 * L, 4)):
        side = -1.0 if k % 2 == 0 else 1.0
        pen.line(_seg((cx + side * 0.02 * L, y), (cx + side * 0.065 * L, y), 2), ebony,
                 max(1.5, 0.013 * L))
        pen.ellipse(cx + side * 0.065 * L, y, 0.013 * L, 0.017 * L, ebony)
    pen.circle(cx, r + 1, r, wood, _shade(wood, 0.5))
    pen.circle(cx + 0.15 * r, r + 1, 0.6 * r, _shade(wood, 0.75))
    pen.circle(cx + 0.25 * r, r + 1, 0.28 * r, _shade(wood, 1.2))
    _bowed_strings(pen, rng, cx, L, top, bottom, a, False)
    return pen.sprite()


_VIOLA_PROFILE = (
    (0.0, 0.76), (0.1, 0.88), (0.2, 0.87), (0.28, 0.76), (0.33, 0.72), (0.36, 0.52),
    (0.5, 0.48), (0.61, 0.54), (0.64, 0.85), (0.7, 0.94), (0.8, 1.0), (0.9, 0.98), (1.0, 0.86),
)

_BASS_PROFILE = (
    (0.0, 0.3), (0.08, 0.48), (0.18, 0.64), (0.28, 0.7), (0.34, 0.6), (0.42, 0.5),
    (0.52, 0.52), (0.6, 0.72), (0.7, 0.92), (0.82, 1.0), (0.92, 0.97), (1.0, 0.82),
)


def _draw_double_bass(rng: np.random.Generator, size: int) -> np.ndarray:
    """Double bass, scroll up: sloped shoulders, long neck, machine tuners, long endpin."""
    L = float(size)
    a = 0.185 * L * _j(rng, 0.06)
    top, bottom = 0.36 * L, 0.9 * L
    cx = a + 0.06 * L
    pen = Pen(2 * cx + 0.03 * L, L)
    varnish = _pick(rng, [(120, 62, 28), (150, 80, 35), (95, 48, 25), (165, 95, 45),
                          (70, 38, 22)], 12)
    body = _profile(cx, top, bottom, a, _BASS_PROFILE)
    rib = 0.03 * L
    pen.poly(body + [rib, 0.2 * rib], _shade(varnish, 0.45))
    pen.poly(body, _shade(varnish, 0.6))
    for k, s in enumerate((0.965, 0.9, 0.8, 0.65)):
        pen.poly(_scaled(body, s, 1 - (1 - s) * 0.5), _shade(varnish, 0.8 + 0.12 * k))
    pen.line(_scaled(body, 0.94, 0.97)[::2], _shade(varnish, 0.45), 1.0)
    length = bottom - top
    _f_holes(pen, cx, top + 0.05 * length, 0.95 * length, 0.95 * a)
    wood = _shade(varnish, 0.9)
    ebony = _ebony(rng)
    metal = _brass(rng) if rng.random() < 0.6 else _silver(rng)
    pen.poly(_quad(cx, 0.05 * L, top + 0.02 * L, 0.04 * L, 0.05 * L), _shade(wood, 0.8))
    pen.poly(_quad(cx, 0.04 * L, 0.15 * L, 0.036 * L, 0.04 * L), wood, _shade(wood, 0.5))
    for side in (-1.0, 1.0):
        pen.poly(_rect(cx + side * 0.02 * L - 0.004 * L, 0.055 * L,
                       cx + side * 0.02 * L + 0.004 * L, 0.145 * L), metal)
        for y in np.linspace(0.065 * L, 0.135 * L, 2):
            pen.line(_seg((cx + side * 0.02 * L, y), (cx + side * 0.055 * L, y), 2), metal,
                     max(1.5, 0.008 * L))
            pen.ellipse(cx + side * 0.06 * L, y, 0.008 * L, 0.014 * L, metal,
                        _shade(metal, 0.6))
    r = 0.025 * L
    pen.circle(cx, r + 1, r, wood, _shade(wood, 0.5))
    pen.circle(cx + 0.15 * r, r + 1, 0.55 * r, _shade(wood, 0.75))
    nut = 0.15 * L
    pen.poly(_quad(cx, nut, top + 0.55 * length, 0.026 * L, 0.05 * L), ebony)
    tail_top, tail_bottom = top + 0.74 * length, top + 0.97 * length
    pen.poly(_quad(cx, tail_top, tail_bottom, 0.4 * a, 0.2 * a), ebony, _shade(ebony, 1.8))
    bridge_y = top + 0.62 * length
    pen.poly(_quad(cx, bridge_y - 0.015 * L, bridge_y + 0.008 * L, 0.5 * a, 0.66 * a),
             (222, 190, 140))
    for x_nut, x_tail in zip(np.linspace(-0.01, 0.01, 4) * L, np.linspace(-0.13, 0.13, 4) * a):
        pen.line(_seg((cx + x_nut, nut), (cx + x_tail, tail_top), 2), (210, 210, 200), 1.0)
    pen.line(_seg((cx, bottom - 0.01 * L), (cx, 0.995 * L), 2), _silver(rng),
             max(1.5, 0.01 * L))
    return pen.sprite()


def _draw_clarinet(rng: np.random.Generator, size: int) -> np.ndarray:
    """B-flat clarinet, mouthpiece up: black body, barrel, silver ring keys, wide bell."""
    L = float(size)
    w = 0.052 * L * _j(rng, 0.08)
    cx = 0.09 * L
    pen = Pen(2 * cx, L)
    body = _jitter(rng, (18, 17, 19), 5)
    metal = _silver(rng)
    hi = _shade(metal, 0.6)
    pen.poly(_quad(cx, 2, 0.085 * L, 0.5 * w, 0.85 * w), _jitter(rng, (12, 12, 14), 4))
    pen.poly(_quad(cx - 0.3 * w, 2, 0.07 * L, 0.12 * w, 0.18 * w), (205, 180, 120))
    pen.poly(_rect(cx - 0.5 * w, 0.045 * L, cx + 0.5 * w, 0.07 * L), metal, hi)
    barrel = _profile(cx, 0.08 * L, 0.15 * L, 0.62 * w, ((0, 0.9), (0.5, 1.0), (1, 0.9)), 30)
    pen.poly(_rect(cx - 0.5 * w, 0.09 * L, cx + 0.5 * w, 0.14 * L), body)
    pen.poly(barrel, _shade(body, 1.4))
    pen.poly(_rect(cx - 0.5 * w, 0.145 * L, cx + 0.5 * w, 0.84 * L), body)
    pen.line(_seg((cx - 0.25 * w, 0.15 * L), (cx - 0.25 * w, 0.83 * L), 2),
             _shade(body, 3.0), 1.0)
    flare = np.linspace(0.0, 1.0, 16)
    ys = 0.82 * L + flare * (0.995 * L - 0.82 * L)
    half = 0.5 * w + 0.9 * w * flare ** 2.2
    bell = np.concatenate([np.stack([cx + half, ys], 1), np.stack([cx - half, ys], 1)[::-1]])
    pen.poly(bell, body)
    pen.poly(_rect(cx - 1.42 * w, 0.975 * L, cx + 1.42 * w, 0.995 * L), metal, hi)
    for y in (0.085 * L, 0.15 * L, 0.48 * L, 0.82 * L):
        pen.poly(_rect(cx - 0.58 * w, y - 0.007 * L, cx + 0.58 * w, y + 0.007 * L), metal, hi)
    pen.line(_seg((cx + 0.55 * w, 0.18 * L), (cx + 0.55 * w, 0.8 * L), 2), metal,
             max(1.0, 0.1 * w))
    n_upper, n_lower = int(rng.integers(3, 5)), int(rng.integers(3, 5))
    holes = np.concatenate([np.linspace(0.22 * L, 0.44 * L, n_upper),
                            np.linspace(0.54 * L, 0.76 * L, n_lower)])
    for y in holes:
        pen.circle(cx, y, 0.4 * w, metal, hi)
        pen.circle(cx, y, 0.27 * w, (12, 12, 14))
    for y in (0.5 * L, 0.79 * L):
        pen.ellipse(cx - 0.45 * w, y, 0.22 * w, 0.03 * L, metal, hi)
    pen.poly(_rect(cx + 0.45 * w, 0.3 * L, cx + 0.8 * w, 0.33 * L), metal, hi)
    return pen.sprite()


def _draw_bassoon(rng: np.random.Generator, size: int) -> np.ndarray:
    """Bassoon: tall reddish-brown double tube, boot at the bottom, bent metal bocal at top."""
    L = float(size)
    W = 0.42 * L
    pen = Pen(W, L)
    wood = _pick(rng, [(150, 62, 32), (128, 50, 28), (170, 80, 40), (110, 45, 30)], 12)
    metal = _silver(rng) if rng.random() < 0.7 else _brass(rng)
    d_long, d_wing = 0.085 * L, 0.06 * L
    x_long = 0.72 * W
    x_wing = x_long - 0.5 * (d_long + d_wing) - 0.004 * L
    boot_top, boot_bottom = 0.76 * L, 0.995 * L
    bell_top = 0.02 * L
    pen.poly(_rect(x_long - d_long / 2, bell_top + 0.03 * L, x_long + d_long / 2, boot_top),
             _shade(wood, 0.8))
    pen.poly(_rect(x_long - 0.3 * d_long, bell_top + 0.03 * L, x_long + 0.2 * d_long, boot_top),
             wood)
    pen.poly(_rect(x_long - 0.56 * d_long, bell_top, x_long + 0.56 * d_long, 0.045 * L),
             _ivory(rng) if rng.random() < 0.6 else _shade(wood, 0.6))
    wing_top = 0.3 * L
    pen.poly(_rect(x_wing - d_wing / 2, wing_top, x_wing + d_wing / 2, boot_top),
             _shade(wood, 0.9))
    pen.poly(_rect(x_wing - 0.25 * d_wing, wing_top, x_wing + 0.15 * d_wing, boot_top),
             _shade(wood, 1.12))
    x0, x1 = x_wing - d_wing / 2 - 0.005 * L, x_long + d_long / 2 + 0.005 * L
    boot = _join(_seg((x0, boot_top), (x1, boot_top), 2),
                 _arc((x0 + x1) / 2, boot_bottom - 0.06 * L, (x1 - x0) / 2, 0.06 * L, 0, 180,
                      20))
    pen.poly(np.concatenate([boot, [[x0, boot_top]]]), _shade(wood, 0.75))
    pen.poly(_rect(x0, boot_top + 0.01 * L, x1, boot_top + 0.02 * L), metal)
    for y in (0.3 * L, 0.5 * L, 0.75 * L):
        pen.poly(_rect(x_long - 0.55 * d_long, y - 0.007 * L, x_long + 0.55 * d_long,
                       y + 0.007 * L), metal)
    pen.poly(_rect(x_wing - 0.58 * d_wing, wing_top - 0.004 * L, x_wing + 0.58 * d_wing,
                   wing_top + 0.01 * L), metal)
    pen.line(_seg((x_long + 0.4 * d_long, 0.1 * L), (x_long + 0.4 * d_long, 0.74 * L), 2),
             metal, max(1.0, 0.008 * L))
    for y in np.linspace(0.36 * L, 0.7 * L, int(rng.integers(3, 6))):
        pen.circle(x_wing, y, 0.012 * L, (20, 12, 10))
        pen.circle(x_long + 0.1 * d_long, y + 0.02 * L, 0.018 * L, metal, _shade(metal, 0.6))
    bocal = _join(_seg((x_wing, wing_top), (x_wing - 0.01 * L, 0.24 * L), 3),
                  _arc(x_wing - 0.13 * L, 0.22 * L, 0.12 * L, 0.1 * L, 10, -120, 14))
    pen.tube(bocal, 0.014 * L, metal, shine=False)
    tip = bocal[-1]
    pen.ellipse(tip[0], tip[1], 0.012 * L, 0.022 * L, (205, 170, 110), angle=-30)
    return pen.sprite()


def _draw_tuba(rng: np.random.Generator, size: int) -> np.ndarray:
    """Tuba: big bell opening upward, vertical body, bottom bow, four valves, leadpipe left."""
    L = float(size)
    W = 0.72 * L * _j(rng, 0.05)
    pen = Pen(W, L)
    brass = _brass(rng)
    xb = 0.6 * W
    y_bow = 0.86 * L
    r_bow = 0.15 * W
    xl = xb - 2 * r_bow
    rb = min(0.3 * L, xb - 2, W - xb - 2)
    main = _join(_seg((xl, 0.42 * L), (xl, y_bow), 10),
                 _arc(xl + r_bow, y_bow, r_bow, 0.12 * L, 180, 0, 20),
                 _seg((xb, y_bow), (xb, 0.06 * L), 24))
    t = np.linspace(0.0, 1.0, len(main))
    pen.tube(main, 0.06 * L + 0.07 * L * t + (2 * rb - 0.13 * L) * np.clip((t - 0.7) / 0.3,
                                                                             0, 1) ** 2.5, brass)
    pen.ellipse(xb, 0.05 * L, rb, 0.045 * L, _shade(brass, 0.8), _shade(brass, 0.5))
    pen.ellipse(xb, 0.055 * L, 0.88 * rb, 0.032 * L, (55, 38, 18))
    loop = _arc(xl - 0.02 * W, 0.6 * L, 0.14 * W, 0.13 * L, 0, 360, 48)
    pen.tube(loop, 0.035 * L, _shade(brass, 0.95))
    metal = _silver(rng) if rng.random() < 0.4 else _shade(brass, 1.1)
    pearl = _ivory(rng)
    vw = 0.055 * L
    for k in range(4):
        x = xl + 0.02 * W + (k - 1.5) * 1.15 * vw
        pen.poly(_rect(x - vw / 2, 0.45 * L, x + vw / 2, 0.66 * L), _shade(brass, 0.65))
        pen.poly(_rect(x - 0.35 * vw, 0.45 * L, x + 0.35 * vw, 0.66 * L), brass)
        for y in (0.46 * L, 0.65 * L):
            pen.poly(_rect(x - 0.58 * vw, y - 0.01 * L, x + 0.58 * vw, y + 0.01 * L), metal)
        pen.line(_seg((x, 0.4 * L), (x, 0.45 * L), 2), metal, max(1.5, 0.012 * L))
        pen.ellipse(x, 0.395 * L, 0.4 * vw, 0.015 * L, pearl, _shade(pearl, 0.6))
    lead = _join(_seg((xl + 0.2 * W, 0.55 * L), (xl + 0.2 * W, 0.3 * L), 8),
                 _arc(xl + 0.05 * W, 0.3 * L, 0.15 * W, 0.1 * L, 0, -150, 12))
    pen.tube(lead, 0.025 * L, brass)
    tip = lead[-1]
    pen.ellipse(tip[0], tip[1], 0.025 * L, 0.015 * L, _silver(rng), angle=-30)
    return pen.sprite()


def _draw_xylophone(rng: np.random.Generator, size: int) -> np.ndarray:
    """Xylophone from the front-top: graded wooden bars, resonator tubes, frame and mallets."""
    L = float(size)
    H = 0.55 * L * _j(rng, 0.06)
    pen = Pen(L, H)
    bar = _pick(rng, [(165, 70, 40), (190, 100, 50), (140, 55, 35), (200, 130, 70)], 12)
    frame = _shade(_wood(rng), 0.6)
    metal = _silver(rng) if rng.random() < 0.6 else _brass(rng)
    n = int(rng.integers(12, 19))
    x0, x1 = 0.05 * L, 0.95 * L
    step = (x1 - x0) / n
    rail = 0.3 * H
    for side in (0.06 * L, 0.94 * L):
        pen.poly(_rect(side - 0.012 * L, rail, side + 0.012 * L, 0.99 * H), frame)
    pen.poly(_rect(0.04 * L, 0.9 * H, 0.96 * L, 0.93 * H), frame)
    for k in range(n):
        x = x0 + (k + 0.5) * step
        t = k / max(n - 1, 1)
        length = (0.5 - 0.32 * t) * H
        pen.poly(_rect(x - 0.3 * step, rail + 0.1 * H, x + 0.3 * step, rail + 0.1 * H + length),
                 _shade(metal, 0.9), _shade(metal, 0.6))
    pen.poly(_rect(0.03 * L, rail - 0.02 * H, 0.97 * L, rail + 0.04 * H), frame)
    pen.poly(_rect(0.03 * L, rail + 0.1 * H, 0.97 * L, rail + 0.14 * H), frame)
    for k in range(n):
        x = x0 + (k + 0.5) * step
        t = k / max(n - 1, 1)
        h = (0.3 - 0.14 * t) * H
        c = _shade(bar, 0.9 + 0.2 * rng.random())
        y_mid = rail + 0.01 * H
        pen.poly(_rect(x - 0.44 * step, y_mid - h / 2, x + 0.44 * step, y_mid + h / 2), c,
                 _shade(bar, 0.5))
        for yy in (y_mid - 0.3 * h, y_mid + 0.3 * h):
            pen.circle(x, yy, max(0.7, 0.06 * step), _shade(bar, 0.4))
    stick = _jitter(rng, (215, 185, 130), 10)
    head = _pick(rng, [(230, 230, 220), (200, 40, 40), (40, 60, 160), (240, 200, 60)], 10)
    for sx in (0.3, 0.55):
        p0 = (sx * L, 0.02 * H + 0.06 * H)
        p1 = (sx * L + 0.28 * L, 0.22 * H)
        pen.line(_seg(p0, p1, 2), stick, max(1.5, 0.01 * L))
        pen.circle(p0[0], p0[1], max(1.5, 0.022 * L), head, _shade(head, 0.6))
    return pen.sprite()


def _bass_body(cx: float, top: float, bottom: float, a: float) -> list[np.ndarray]:
    """Offset double-cutaway solid body: lower bout ellipse plus two horns (polygons)."""
    h = bottom - top
    lower = _arc(cx, top + 0.62 * h, a, 0.38 * h, 0, 360, 60)
    waist = _rect(cx - 0.82 * a, top + 0.3 * h, cx + 0.82 * a, top + 0.7 * h)
    upper = _arc(cx, top + 0.32 * h, 0.82 * a, 0.2 * h, 0, 360, 40)
    horn_l = _arc(cx - 0.55 * a, top + 0.12 * h, 0.26 * a, 0.17 * h, 0, 360, 30, angle=12)
    horn_r = _arc(cx + 0.58 * a, top + 0.2 * h, 0.22 * a, 0.13 * h, 0, 360, 30, angle=-15)
    return [lower, waist, upper, horn_l, horn_r]


def _draw_electric_bass(rng: np.random.Generator, size: int) -> np.ndarray:
    """Four-string electric bass, headstock up: solid body, long neck, inline tuners."""
    L = float(size)
    a = 0.19 * L * _j(rng, 0.06)
    top, bottom = 0.56 * L, 0.995 * L
    cx = a + 0.03 * L
    pen = Pen(2 * cx + 0.02 * L, L)
    sunburst = rng.random() < 0.45
    finish = (_pick(rng, [(150, 20, 20), (25, 25, 28), (230, 230, 225), (30, 70, 170),
                          (200, 60, 20), (60, 140, 90), (210, 170, 40)], 14)
              if not sunburst else _jitter(rng, (225, 165, 45), 12))
    parts = _bass_body(cx, top, bottom, a)
    edge = _shade(finish, 0.5) if not sunburst else _jitter(rng, (40, 18, 10), 6)
    for p in parts:
        pen.poly(p, edge)
    if sunburst:
        for p in parts:
            pen.poly(_scaled(p, 0.92, 0.94), (120, 40, 15))
        for p in parts[:3]:
            pen.poly(_scaled(p, 0.7, 0.75), finish)
    else:
        for p in parts:
            pen.poly(_scaled(p, 0.94, 0.95), finish)
    h = bottom - top
    guard = _pick(rng, [(235, 235, 228), (25, 25, 25), (120, 45, 25)], 8)
    pen.poly(_arc(cx - 0.3 * a, top + 0.5 * h, 0.4 * a, 0.22 * h, 0, 360, 30, angle=15), guard,
             _shade(guard, 0.7))
    pickup = (18, 18, 20)
    for y in (top + 0.45 * h, top + 0.68 * h):
        pen.poly(_rect(cx - 0.3 * a, y - 0.025 * L, cx + 0.3 * a, y + 0.025 * L), pickup)
        for k in range(4):
            pen.circle(cx + (k - 1.5) * 0.13 * a, y, max(0.6, 0.006 * L), (150, 150, 150))
    metal = _silver(rng)
    bridge_y = top + 0.85 * h
    pen.poly(_rect(cx - 0.3 * a, bridge_y - 0.02 * L, cx + 0.3 * a, bridge_y + 0.02 * L), metal,
             _shade(metal, 0.6))
    for k in range(2 + int(rng.integers(2))):
        pen.circle(cx + 0.55 * a, top + (0.68 + 0.1 * k) * h, 0.016 * L, (30, 30, 30), metal)
    nut = 0.16 * L
    neck_end = top + 0.25 * h
    neck = _pick(rng, [(220, 180, 120), (205, 160, 95)], 10)
    board = neck if rng.random() < 0.4 else _shade(_wood(rng), 0.55)
    pen.poly(_quad(cx, nut - 0.01 * L, neck_end, 0.045 * L, 0.056 * L), neck)
    pen.poly(_quad(cx, nut, neck_end, 0.04 * L, 0.05 * L), board)
    scale = (bridge_y - nut) * 2.0
    for k, y in enumerate(nut + scale * (1.0 - 2.0 ** (-np.arange(1, 22) / 12.0)), start=1):
        if y > neck_end - 2:
            break
        half = 0.021 * L + 0.004 * L * (y - nut) / (neck_end - nut)
        pen.line(_seg((cx - half, y), (cx + half, y), 2), _silver(rng), 1.0)
        if k in (3, 5, 7, 9, 12):
            pen.circle(cx, y - 0.012 * L, max(0.8, 0.006 * L), (20, 20, 20) if board == neck
                       else (235, 235, 225))
    for s in np.linspace(-0.014, 0.014, 4) * L:
        pen.line(_seg((cx + s, nut), (cx + 1.6 * s, bridge_y), 2), (210, 210, 200), 1.0)
    head = np.array([[cx - 0.02 * L, nut], [cx + 0.022 * L, nut], [cx + 0.03 * L, 0.1 * L],
                     [cx + 0.02 * L, 0.02 * L], [cx - 0.012 * L, 2], [cx - 0.035 * L, 0.03 * L],
                     [cx - 0.035 * L, 0.12 * L]])
    pen.poly(head, neck, _shade(neck, 0.6))
    for y in np.linspace(0.03 * L, 0.13 * L, 4):
        pen.line(_seg((cx - 0.03 * L, y), (cx - 0.06 * L, y), 2), metal, max(1.5, 0.008 * L))
        pen.ellipse(cx - 0.064 * L, y, 0.01 * L, 0.013 * L, metal, _shade(metal, 0.6))
        pen.circle(cx - 0.012 * L, y, 0.007 * L, _shade(metal, 0.8))
    return pen.sprite()


_UKULELE_PROFILE = (
    (0.0, 0.72), (0.14, 0.86), (0.28, 0.8), (0.4, 0.6), (0.48, 0.58), (0.58, 0.78),
    (0.74, 1.0), (0.88, 0.98), (1.0, 0.8),
)


def _draw_ukulele(rng: np.random.Generator, size: int) -> np.ndarray:
    """Soprano ukulele, headstock up: small figure-eight body, short neck, four strings."""
    L = float(size)
    a = 0.19 * L * _j(rng, 0.08)
    top, bottom = 0.46 * L, L - 1
    cx = a + 2
    pen = Pen(2 * cx, L)
    finish = _pick(rng, [(190, 120, 60), (160, 90, 45), (215, 160, 95), (120, 70, 40),
                         (90, 170, 190), (230, 120, 140)], 12)
    body = _profile(cx, top, bottom, a, _UKULELE_PROFILE)
    binding = _ivory(rng) if rng.random() < 0.6 else _shade(finish, 0.5)
    pen.poly(body, binding)
    pen.poly(_scaled(body, 0.95, 0.97), finish)
    pen.poly(_scaled(body, 0.7, 0.8), _shade(finish, 1.06))
    length = bottom - top
    hole_y, hole_r = top + 0.36 * length, 0.3 * a
    pen.circle(cx, hole_y, hole_r * 1.25, _shade(finish, 0.7))
    pen.circle(cx, hole_y, hole_r, (18, 12, 8))
    bridge_y = top + 0.78 * length
    pen.poly(_rect(cx - 0.4 * a, bridge_y - 0.02 * L, cx + 0.4 * a, bridge_y + 0.02 * L),
             _shade(_wood(rng), 0.5))
    nut = 0.17 * L
    neck = _shade(finish, 0.85)
    board = _shade(_wood(rng), 0.55)
    pen.poly(_quad(cx, nut, top + 0.06 * length, 0.075 * L, 0.085 * L), neck)
    pen.poly(_quad(cx, nut, top + 0.06 * length, 0.065 * L, 0.075 * L), board)
    scale = (bridge_y - nut) * 2.0
    for y in nut + scale * (1.0 - 2.0 ** (-np.arange(1, 13) / 12.0)):
        if y > top + 0.05 * length:
            break
        pen.line(_seg((cx - 0.034 * L, y), (cx + 0.034 * L, y), 2), (200, 200, 195), 1.0)
    for s in np.linspace(-0.024, 0.024, 4) * L:
        pen.line(_seg((cx + s, nut), (cx + 1.2 * s, bridge_y), 2), (240, 238, 225), 1.0)
    head = np.array([[cx - 0.045 * L, nut], [cx + 0.045 * L, nut], [cx + 0.055 * L, 0.03 * L],
                     [cx + 0.02 * L, 2], [cx, 0.015 * L], [cx - 0.02 * L, 2],
                     [cx - 0.055 * L, 0.03 * L]])
    pen.poly(head, _shade(neck, 0.8), _shade(neck, 0.5))
    pen.line(_seg((cx - 0.04 * L, nut), (cx + 0.04 * L, nut), 2), _ivory(rng), 1.5)
    metal = _silver(rng)
    button = _ivory(rng) if rng.random() < 0.6 else _ebony(rng)
    for y in (0.06 * L, 0.12 * L):
        for side in (-1.0, 1.0):
            pen.line(_seg((cx + side * 0.045 * L, y), (cx + side * 0.075 * L, y), 2), metal,
                     1.5)
            pen.ellipse(cx + side * 0.08 * L, y, 0.012 * L, 0.016 * L, button,
                        _shade(button, 0.6))
    return pen.sprite()


def _ellipse_band(cx: float, cy: float, rx: float, ry: float, lo: float, hi: float,
                  vertical: bool) -> np.ndarray | None:
    """Polygon of a stripe ``lo..hi`` (x if ``vertical`` else y) clipped to an ellipse."""
    c, r, ro = (cx, rx, ry) if vertical else (cy, ry, rx)
    lo, hi = max(lo, c - 0.999 * r), min(hi, c + 0.999 * r)
    if hi <= lo:
        return None
    s = np.linspace(lo, hi, 12)
    half = ro * np.sqrt(np.clip(1.0 - ((s - c) / r) ** 2, 0.0, 1.0))
    o = cy if vertical else cx
    a = np.stack([s, o - half], 1) if vertical else np.stack([o - half, s], 1)
    b = np.stack([s, o + half], 1) if vertical else np.stack([o + half, s], 1)
    return np.concatenate([a, b[::-1]])


def _draw_bagpipes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Highland bagpipes: tartan bag, three drones fanning up, blowpipe, chanter hanging down."""
    L = float(size)
    pen = Pen(0.8 * L, L)
    cx, cy, rx, ry = 0.42 * L, 0.58 * L, 0.24 * L, 0.15 * L
    ebony = _ebony(rng)
    mount = _ivory(rng) if rng.random() < 0.6 else _silver(rng)
    cord = _pick(rng, [(200, 30, 30), (30, 90, 40), (30, 40, 120), (220, 180, 40)], 12)
    lengths = (0.55 * L, 0.42 * L, 0.4 * L)
    for k, (dx, ang) in enumerate(((0.12, 14.0), (0.0, 4.0), (-0.1, -6.0))):
        bx, by = cx + dx * L, cy - 0.8 * ry
        t = np.deg2rad(ang)
        ex, ey = bx + lengths[k] * np.sin(t), max(by - lengths[k] * np.cos(t), 0.03 * L)
        pen.tube(_seg((bx, by), (ex, ey), 8), 0.028 * L, ebony, shine=False)
        for f in (0.35, 0.7):
            mx, my = bx + f * (ex - bx), by + f * (ey - by)
            pen.ellipse(mx, my, 0.022 * L, 0.01 * L, mount, _shade(mount, 0.6), angle=ang)
        pen.ellipse(ex, ey, 0.026 * L, 0.018 * L, mount, _shade(mount, 0.6), angle=ang)
        pen.ellipse(ex, ey - 0.004 * L, 0.012 * L, 0.008 * L, (20, 20, 20), angle=ang)
    pen.line(_join(_seg((cx + 0.1 * L + 0.3 * lengths[0] * np.sin(np.deg2rad(14)),
                         cy - 0.8 * ry - 0.3 * lengths[0]),
                        (cx - 0.1 * L, cy - 0.8 * ry - 0.25 * lengths[2]), 8)), cord, 1.5)
    base = _pick(rng, [(170, 25, 30), (25, 75, 45), (30, 40, 110), (40, 40, 45)], 10)
    pen.ellipse(cx, cy, rx, ry, _shade(base, 0.7))
    pen.ellipse(cx, cy, 0.97 * rx, 0.96 * ry, base)
    dark = _shade(base, 0.45)
    light = _pick(rng, [(235, 225, 200), (230, 200, 60), (220, 220, 220)], 8)
    period = 0.09 * L
    offset = rng.uniform(0, period)
    for vertical in (False, True):
        c0 = (cx - rx if vertical else cy - ry) + offset
        for s in np.arange(c0, (cx + rx if vertical else cy + ry), period):
            band = _ellipse_band(cx, cy, 0.97 * rx, 0.96 * ry, s, s + 0.35 * period, vertical)
            if band is not None:
                pen.poly(band, dark)
            band = _ellipse_band(cx, cy, 0.97 * rx, 0.96 * ry, s + 0.6 * period,
                                 s + 0.66 * period, vertical)
            if band is not None:
                pen.poly(band, light)
    blow = _seg((cx - 0.75 * rx, cy - 0.45 * ry), (0.05 * L, 0.32 * L), 6)
    pen.tube(blow, 0.024 * L, ebony, shine=False)
    pen.ellipse(0.05 * L, 0.32 * L, 0.018 * L, 0.012 * L, mount, angle=-40)
    chanter = _seg((cx + 0.3 * rx, cy + 0.85 * ry), (cx + 0.38 * rx, 0.93 * L), 8)
    pen.tube(chanter, np.linspace(0.026 * L, 0.034 * L, 8), ebony, shine=False)
    pen.ellipse(cx + 0.3 * rx, cy + 0.9 * ry, 0.022 * L, 0.01 * L, mount)
    pen.ellipse(cx + 0.38 * rx, 0.95 * L, 0.03 * L, 0.03 * L, mount, _shade(mount, 0.6))
    for f in np.linspace(0.25, 0.85, 6):
        p = chanter[0] + f * (chanter[-1] - chanter[0])
        pen.circle(p[0], p[1], 0.006 * L, (200, 200, 200))
    return pen.sprite()


def _draw_congas(rng: np.random.Generator, size: int) -> np.ndarray:
    """Two or three tall barrel-shaped conga drums with skin heads, standing side by side."""
    L = float(size)
    n = 2 + int(rng.random() < 0.5)
    W = (0.62 if n == 2 else 0.9) * L
    pen = Pen(W, L)
    shell = (_wood(rng) if rng.random() < 0.6 else
             _pick(rng, [(170, 30, 35), (30, 60, 150), (30, 30, 35), (220, 220, 215)], 14))
    metal = _silver(rng) if rng.random() < 0.7 else _jitter(rng, (205, 170, 70), 10)
    skin = _jitter(rng, (222, 200, 160), 12)
    rx = W / n * 0.44
    heights = [0.99, 0.9, 0.82][:n]
    order = sorted(range(n), key=lambda k: heights[k])
    for k in order:
        cx = W / n * (k + 0.5)
        top = L * (1.0 - heights[k]) + 0.08 * rx
        bottom = L - 2 - 0.3 * rx
        t = np.linspace(0.0, 1.0, 40)
        half = rx * (0.78 + 0.22 * np.sin(np.pi * np.clip(t * 1.4, 0, 1))) * (1.0 - 0.28 * t)
        y = top + t * (bottom - top)
        outline = np.concatenate([np.stack([cx + half, y], 1), np.stack([cx - half, y], 1)[::-1]])
        pen.ellipse(cx, bottom, half[-1], 0.3 * half[-1], _shade(shell, 0.55))
        pen.poly(outline, shell)
        for f in (-0.6, -0.2, 0.2, 0.6):
            pen.line(np.stack([cx + f * half, y], 1), _shade(shell, 0.7), 1.0)
        pen.poly(np.concatenate([np.stack([cx - 0.55 * half, y], 1),
                                 np.stack([cx - 0.3 * half, y], 1)[::-1]]), _shade(shell, 1.2))
        for f in (-0.7, 0.0, 0.7):
            pen.line(_seg((cx + f * rx, top), (cx + f * half[20], y[20]), 2), metal,
                     max(1.5, 0.012 * L))
            pen.poly(_rect(cx + f * half[20] - 0.015 * L, y[20] - 0.01 * L,
                           cx + f * half[20] + 0.015 * L, y[20] + 0.012 * L), metal)
        pen.ellipse(cx, top, 1.03 * rx, 0.3 * rx, metal)
        pen.ellipse(cx, top - 0.02 * rx, 0.95 * rx, 0.26 * rx, skin, _shade(skin, 0.7))
        pen.ellipse(cx - 0.2 * rx, top - 0.05 * rx, 0.4 * rx, 0.1 * rx, _shade(skin, 1.05))
    return pen.sprite()


def _draw_erhu(rng: np.random.Generator, size: int) -> np.ndarray:
    """Erhu, upright: hexagonal resonator at the bottom, long thin neck, two pegs, bow across."""
    L = float(size)
    W = 0.62 * L * _j(rng, 0.06)
    pen = Pen(W, L)
    wood = _pick(rng, [(95, 35, 25), (70, 30, 22), (120, 55, 30), (50, 28, 22)], 10)
    cx = 0.32 * W
    box_top, box_bottom = 0.76 * L, 0.9 * L
    bw = 0.085 * L
    hexagon = np.array([[cx - bw, box_top + 0.02 * L], [cx - 0.6 * bw, box_top],
                        [cx + 0.6 * bw, box_top], [cx + bw, box_top + 0.02 * L],
                        [cx + bw, box_bottom - 0.02 * L], [cx + 0.6 * bw, box_bottom],
                        [cx - 0.6 * bw, box_bottom], [cx - bw, box_bottom - 0.02 * L]])
    pen.line(_seg((cx, 0.02 * L), (cx, 0.97 * L), 2), _shade(wood, 0.9), max(1.5, 0.02 * L))
    pen.poly(hexagon, wood, _shade(wood, 0.5))
    skin = _jitter(rng, (60, 55, 45), 8)
    sx = cx + 0.75 * bw
    pen.poly(_rect(cx + 0.2 * bw, box_top + 0.01 * L, cx + bw, box_bottom - 0.01 * L),
             _shade(wood, 1.25))
    pen.ellipse(sx, (box_top + box_bottom) / 2, 0.3 * bw, 0.065 * L, skin, (20, 18, 15))
    for yy in np.linspace(box_top + 0.025 * L, box_bottom - 0.025 * L, 5):
        for xx in (sx - 0.1 * bw, sx + 0.1 * bw):
            pen.circle(xx, yy, max(0.6, 0.006 * L), (180, 170, 140))
    pen.poly(_rect(cx - 0.4 * bw, box_bottom, cx + 0.4 * bw, 0.99 * L), _shade(wood, 0.8))
    gold = _jitter(rng, (210, 170, 70), 10)
    for k, y in enumerate((0.1 * L, 0.17 * L)):
        pen.line(_seg((cx - 0.07 * L, y), (cx + 0.02 * L, y), 2), _shade(wood, 0.8),
                 max(1.5, 0.016 * L))
        pen.ellipse(cx - 0.075 * L, y, 0.014 * L, 0.02 * L, _shade(wood, 0.7))
    pen.tube(_arc(cx - 0.02 * L, 0.035 * L, 0.02 * L, 0.025 * L, 0, -200, 10), 0.014 * L,
             _shade(wood, 0.9), shine=False)
    pen.circle(cx - 0.04 * L, 0.03 * L, 0.012 * L, gold)
    string = (225, 220, 205)
    for dx in (0.006 * L, 0.014 * L):
        pen.line(_seg((cx + dx, 0.12 * L), (cx + dx, box_top + 0.06 * L), 2), string, 1.0)
    pen.poly(_rect(cx - 0.004 * L, 0.42 * L, cx + 0.022 * L, 0.44 * L), (200, 40, 40))
    hair = _jitter(rng, (235, 230, 215), 8)
    bow_stick = _jitter(rng, (175, 130, 70), 10)
    y_bow = 0.7 * L
    p0, p1 = (0.02 * W, y_bow - 0.06 * L), (0.99 * W, y_bow + 0.02 * L)
    pen.line(_seg(p0, p1, 2), hair, max(1.5, 0.008 * L))
    pen.line(_seg((p0[0], p0[1] - 0.015 * L), (p1[0], p1[1] - 0.015 * L), 2), bow_stick,
             max(1.5, 0.01 * L))
    pen.poly(_rect(p1[0] - 0.04 * W, p1[1] - 0.03 * L, p1[0] - 0.005 * W, p1[1] + 0.005 * L),
             _ebony(rng))
    return pen.sprite()


def _draw_guzheng(rng: np.random.Generator, size: int) -> np.ndarray:
    """Guzheng from the front-top: long trapezoidal board, many strings, a row of bridges."""
    L = float(size)
    H = 0.34 * L * _j(rng, 0.06)
    pen = Pen(L, H)
    wood = _pick(rng, [(150, 90, 45), (120, 65, 35), (175, 115, 60), (95, 50, 30)], 12)
    top_l, top_r = 0.3 * H, 0.04 * H
    bot_l, bot_r = 0.6 * H, 0.7 * H
    x0, x1 = 0.01 * L, 0.99 * L
    pen.poly(np.array([[x0, bot_l], [x1, bot_r], [x1, 0.8 * H], [x0, 0.68 * H]]),
             _shade(wood, 0.55))
    for x in (0.14 * L, 0.86 * L):
        pen.poly(_quad(x, 0.66 * H, 0.995 * H, 0.03 * L, 0.05 * L), _shade(wood, 0.4))
    board = np.array([[x0, top_l], [x1, top_r], [x1, bot_r], [x0, bot_l]])
    pen.poly(board, wood, _shade(wood, 0.5))
    deco = _pick(rng, [(30, 25, 25), (150, 30, 30), (40, 60, 40)], 8)
    gold = _jitter(rng, (215, 175, 80), 10)
    for xa, xb in ((x0, 0.1 * L), (0.82 * L, x1)):
        def edge(x: float, top: bool) -> float:
            f = (x - x0) / (x1 - x0)
            return (top_l + f * (top_r - top_l)) if top else (bot_l + f * (bot_r - bot_l))
        pen.poly(np.array([[xa, edge(xa, True)], [xb, edge(xb, True)], [xb, edge(xb, False)],
                           [xa, edge(xa, False)]]), deco)
        xm = (xa + xb) / 2
        pen.ellipse(xm, (edge(xm, True) + edge(xm, False)) / 2, 0.025 * L, 0.12 * H, gold)
    n = int(rng.integers(16, 22))
    string = (230, 228, 215)
    bridge = _ivory(rng) if rng.random() < 0.7 else _jitter(rng, (60, 40, 30), 8)
    xs_l, xs_r = 0.1 * L, 0.82 * L
    for k in range(n):
        f = (k + 0.5) / n
        yl = top_l + f * (bot_l - top_l)
        yr = top_r + f * (bot_r - top_r)
        ya = yl + (xs_l - x0) / (x1 - x0) * (yr - yl)
        yb = yl + (xs_r - x0) / (x1 - x0) * (yr - yl)
        pen.line(_seg((xs_l, ya), (xs_r, yb), 2), string, 1.0)
        bx = 0.3 * L + 0.42 * L * f + rng.uniform(-0.01, 0.01) * L
        by = ya + (bx - xs_l) / (xs_r - xs_l) * (yb - ya)
        s = 0.011 * L
        pen.poly(np.array([[bx - s, by + 0.4 * s], [bx + s, by + 0.4 * s],
                           [bx, by - 0.8 * s]]), bridge, _shade(bridge, 0.6))
    return pen.sprite()


_PIPA_PROFILE = (
    (0.0, 0.12), (0.12, 0.22), (0.3, 0.45), (0.5, 0.72), (0.7, 0.92), (0.85, 1.0),
    (0.95, 0.92), (1.0, 0.7),
)


def _draw_pipa(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pipa, upright: pear-shaped body, frets down the neck, short bent-back pegbox."""
    L = float(size)
    a = 0.2 * L * _j(rng, 0.08)
    top, bottom = 0.2 * L, L - 1
    cx = a + 0.05 * L
    pen = Pen(2 * cx, L)
    back = _pick(rng, [(120, 45, 25), (90, 35, 22), (150, 70, 35)], 10)
    face = _jitter(rng, (218, 185, 130), 12)
    body = _profile(cx, top, bottom, a, _PIPA_PROFILE)
    pen.poly(body, back)
    pen.poly(_scaled(body, 0.93, 0.97), face)
    length = bottom - top
    deco = _shade(back, 0.8)
    for side in (-1.0, 1.0):
        pen.ellipse(cx + side * 0.45 * a, top + 0.5 * length, 0.14 * a, 0.05 * length, deco,
                    angle=side * 25)
    bridge_y = top + 0.8 * length
    pen.poly(_rect(cx - 0.45 * a, bridge_y - 0.012 * L, cx + 0.45 * a, bridge_y + 0.012 * L),
             _shade(back, 0.7))
    neck = _shade(back, 1.1)
    pen.poly(_quad(cx, 0.1 * L, top + 0.05 * length, 0.06 * L, 0.08 * L), neck)
    fret = _jitter(rng, (235, 220, 185), 8)
    for k, y in enumerate(np.linspace(0.13 * L, top + 0.42 * length, 13)):
        half = (0.03 + 0.008 * k / 12) * L if y < top else 0.2 * a + 0.05 * a * k / 12
        h = 0.012 * L * (1.0 if y < top else 0.6)
        pen.poly(_rect(cx - half, y - h / 2, cx + half, y + h / 2), fret, _shade(fret, 0.6))
    for s in np.linspace(-0.016, 0.016, 4) * L:
        pen.line(_seg((cx + s, 0.1 * L), (cx + 2.2 * s, bridge_y), 2), (240, 235, 220), 1.0)
    head = np.array([[cx - 0.03 * L, 0.1 * L], [cx + 0.03 * L, 0.1 * L],
                     [cx + 0.015 * L, 0.02 * L], [cx - 0.01 * L, 2], [cx - 0.04 * L, 0.03 * L]])
    pen.poly(head, _shade(back, 0.9), _shade(back, 0.5))
    pen.circle(cx - 0.02 * L, 0.02 * L, 0.015 * L, _shade(back, 1.3))
    for k, y in enumerate(np.linspace(0.035 * L, 0.085 * L, 4)):
        side = -1.0 if k % 2 == 0 else 1.0
        pen.poly(_rect(cx + min(0.0, side) * 0.075 * L, y - 0.007 * L,
                       cx + max(0.0, side) * 0.075 * L, y + 0.007 * L), _shade(back, 0.75))
        pen.ellipse(cx + side * 0.075 * L, y, 0.012 * L, 0.011 * L, _shade(back, 0.6))
    return pen.sprite()


# ----------------------------------------------------------------------------- public API

_DRAWERS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "Banjo": _draw_banjo, "Cello": _draw_cello, "Drum": _draw_drum, "Guitar": _draw_guitar,
    "Harp": _draw_harp, "Harmonica": _draw_harmonica, "Oboe": _draw_oboe, "Piano": _draw_piano,
    "Saxophone": _draw_saxophone, "Trombone": _draw_trombone, "Trumpet": _draw_trumpet,
    "Violin": _draw_violin, "Flute": _draw_flute, "Accordion": _draw_accordion,
    "Horn": _draw_horn, "Clarinet": _draw_clarinet, "Bassoon": _draw_bassoon,
    "Viola": _draw_viola, "Double bass": _draw_double_bass, "Tuba": _draw_tuba,
    "Xylophone": _draw_xylophone, "Electric bass": _draw_electric_bass,
    "Ukulele": _draw_ukulele, "Bagpipes": _draw_bagpipes, "Congas": _draw_congas,
    "Erhu": _draw_erhu, "Guzheng": _draw_guzheng, "Pipa": _draw_pipa,
}


def draw_instrument(class_name: str, rng: np.random.Generator, size: int = 160) -> np.ndarray:
    """Draw one randomised instrument sprite in its canonical orientation.

    Args:
        class_name: one of :data:`CLASSES`.
        rng: source of all randomness (colours, proportions, details).
        size: approximate length in pixels of the drawn instrument's longer side.

    Returns:
        RGBA uint8 sprite ``(h, w, 4)`` (straight alpha; 0 = transparent), cropped to the drawn
        pixels plus a 2 px transparent border.
    """
    drawer = _DRAWERS.get(class_name)
    if drawer is None:
        raise ValueError(f"unknown instrument class {class_name!r}; known: {', '.join(CLASSES)}")
    if size < 16:
        raise ValueError(f"sprite size must be at least 16 px, got {size}")
    return drawer(rng, int(size))


def composite_over(background: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend RGBA ``sprite (h, w, 4)`` onto BGR ``background (H, W, 3)`` in place at x, y.

    The sprite must lie inside the background.
    """
    h, w = sprite.shape[:2]
    alpha = sprite[:, :, 3:].astype(np.float32) / 255.0
    roi = background[y:y + h, x:x + w].astype(np.float32)
    bgr = sprite[:, :, 2::-1].astype(np.float32)
    background[y:y + h, x:x + w] = np.round(roi * (1.0 - alpha) + bgr * alpha).astype(np.uint8)


def contact_sheet(rng: np.random.Generator, size: int = 120, variants: int = 3) -> np.ndarray:
    """Every class drawn ``variants`` times on a grey grid with labels.

    Returns:
        BGR uint8 image ``(rows * cell_h, cols * cell_w, 3)``, cells grouped by class.
    """
    cell, label_h = size + 10, 16
    per_row = 3 * variants
    n_cells = len(CLASSES) * variants
    rows = -(-n_cells // per_row)
    sheet = np.full((rows * (cell + label_h), per_row * cell, 3), 150, np.uint8)
    for i, name in enumerate(CLASSES):
        for v in range(variants):
            k = i * variants + v
            r, c = divmod(k, per_row)
            x0, y0 = c * cell, r * (cell + label_h)
            sprite = draw_instrument(name, rng, size)
            h, w = sprite.shape[:2]
            composite_over(sheet, sprite, x0 + (cell - w) // 2, y0 + label_h + (cell - h) // 2)
            cv2.putText(sheet, name, (x0 + 4, y0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (20, 20, 20), 1, cv2.LINE_AA)
        cv2.rectangle(sheet, (((i * variants) % per_row) * cell, (i * variants // per_row)
                              * (cell + label_h)),
                      ((((i * variants) % per_row) + variants) * cell - 1,
                       (i * variants // per_row + 1) * (cell + label_h) - 1), (90, 90, 90), 1)
    return sheet
