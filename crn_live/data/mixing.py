"""Mixing stems into a clip: a room, a microphone and its preamp, levels, a noise floor, the sum.

What a clip is, as if recorded by one microphone in one room:

1. **Room** (``room="ism"``, the default): a shoebox room of random size (3 x 3 x 2.5 m up to
   20 x 15 x 8 m) and reverberation time (RT60 0.2-1.5 s, no shorter than Sabine allows for the
   room with walls that absorb 95 %), the players spread on a "stage" near the front wall, one
   omnidirectional microphone 1-6 m (horizontally) from the stage's centre. Each source's
   impulse response is pyroomacoustics' image-source model (:class:`pyroomacoustics.ShoeBox`,
   the walls' absorption from Sabine's formula as in :func:`pyroomacoustics.inverse_sabine`)
   for the direct path and the early reflections, up to the time ``ism_until_s`` before which
   the image sources of order ``max_order`` are complete (computed from the image lattice;
   ``max_order`` is the smallest that covers about 60 ms after the latest direct sound, at most
   14, which keeps it to milliseconds at 44.1 kHz). After that time the response is a
   statistical late tail (Gaussian noise, energy-matched to the image sources just before the
   crossover, decaying 60 dB in ``rt60_s`` below 3 kHz and in ``rt60_s * hf_rt60_ratio`` above:
   walls and air absorb highs faster), cross-faded over 5 ms. A full image-source response to
   -60 dB would need orders of 50-270 (up to a minute per room) and, in a shoebox, rings with
   flutter echoes; the hybrid is the usual remedy (what pyroomacoustics' own ray-tracing hybrid
   does with a histogram, at a second per room and without a seed). The direct path keeps its
   physical delay ``distance / c`` (a source 6 m away arrives 17.5 ms into the clip;
   pyroomacoustics' 40-tap fractional-delay latency is removed), so stems and mixture start
   slightly after the notes in ``meta.json``. ``room="simple"`` is the previous hand-made room
   (:class:`Room`); with probability ``1 - reverb_probability`` a clip is dry (no room at all,
   still through the microphone).
2. **Levels**: each stem (after the room) is brought to -20 dBFS active RMS
   (:func:`active_rms`, 0 for a silent stem, which stays silent), then offset by a gain drawn in
   ``[-level_spread_db, +level_spread_db]``.
3. **Microphone and preamp** (``microphone=True``): one random :class:`MicChain` per clip (the
   same for every stem: one microphone) of pedalboard filters: a 12 dB/octave low-cut at
   20-120 Hz, two or three EQ bands (peak / low shelf / high shelf, +-6 dB), sometimes a gentle
   6 dB/octave low-pass at 8-20 kHz. These are linear and time-invariant, so applying them to
   every stem is applying them to the mixture. Then gentle compression (:class:`Compressor`,
   ``compression=True``): a compressor is not linear, so its gain is computed once from the
   mixture (a feed-forward side chain: 1 ms peak detector, soft-knee static curve, attack and
   release) and every stem is multiplied by that same time-varying gain; the sum of the
   compressed stems is the compressed mixture.
4. **Noise floor** (``noise_floor=True``): the microphone's and preamp's self-noise (white to
   pink, through the same filters, not compressed), ``noise_db`` (-70 to -50 dB) below the
   mixture's active RMS. It belongs to no instrument: returned on its own
   (:attr:`Recording.noise`).
5. **Peak**: everything is scaled together so that the mixture (noise included) peaks at
   ``peak`` (0.89) at most, then rounded to float32: ``mix == stems.sum(axis=0,
   dtype=np.float32) + noise`` bit for bit.

Everything drawn comes from the caller's generator: the gains and the dry/wet coin first, then
one child generator per stage (room, microphone, compressor, noise), so turning a stage off does
not change what the others draw. pyroomacoustics' randomised image sources (which use numpy's
global generator) are not used. What was drawn is in :attr:`Recording.info` (JSON-safe).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np
from scipy import signal

SPEED_OF_SOUND = 343.0  #: m/s, as pyroomacoustics uses
ROOM_MODELS = ("ism", "simple")
_SABINE = 24.0 * math.log(10.0) / SPEED_OF_SOUND  # RT60 = _SABINE * V / (S * absorption)


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


# --- the previous hand-made room (room="simple") -------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Room:
    """A synthetic room: reverberation time, wet/dry ratio and pre-delay."""

    rt60: float
    wet: float
    predelay: float

    @staticmethod
    def draw(rng: np.random.Generator) -> Room:
        return Room(rt60=float(rng.uniform(0.25, 1.2)), wet=float(rng.uniform(0.1, 0.45)),
                    predelay=float(rng.uniform(0.005, 0.03)))


def room_impulse_response(room: Room, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A source's impulse response ``(taps,)``: direct path, early reflections, a decaying tail.

    The tail is noise with an exponential decay reaching -60 dB at ``rt60``; high frequencies
    decay faster (the noise is low-passed progressively), as in real rooms.
    """
    taps = int(room.rt60 * 1.1 * sample_rate)
    t = np.arange(taps) / sample_rate
    tail = rng.standard_normal(taps) * np.exp(-6.9 * t / room.rt60)
    dull = signal.lfilter([0.25], [1.0, -0.75], tail)  # one-pole low-pass of the tail
    mix = np.clip(t / room.rt60, 0.0, 1.0)
    tail = (1.0 - mix) * tail + mix * dull * 2.0
    start = int(room.predelay * sample_rate)
    tail[:start] = 0.0
    for _ in range(6):  # early reflections
        k = start + int(rng.uniform(0.002, 0.04) * sample_rate)
        if k < taps:
            tail[k] += rng.uniform(-0.5, 0.5) * np.sqrt(taps / sample_rate)
    tail *= room.wet / max(np.sqrt(np.sum(tail**2)), 1e-9)
    ir = tail
    ir[0] += 1.0 - room.wet
    return ir


# --- the image-source room (room="ism") ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ShoeboxRoom:
    """A shoebox room with its players and one microphone (metres; x along the room's length,
    the stage at the front wall x = 0)."""

    dims: tuple[float, float, float]
    rt60: float  #: seconds, below 3 kHz
    hf_rt60_ratio: float  #: the late tail above 3 kHz decays in rt60 * this
    sources: tuple[tuple[float, float, float], ...]
    mic: tuple[float, float, float]
    stage_centre: tuple[float, float, float]

    @property
    def absorption(self) -> float:
        """The walls' energy absorption coefficient that gives ``rt60`` by Sabine's formula."""
        lx, ly, lz = self.dims
        return _SABINE * lx * ly * lz / (2 * (lx * ly + lx * lz + ly * lz) * self.rt60)

    @staticmethod
    def draw(rng: np.random.Generator, n_sources: int) -> ShoeboxRoom:
        lx = float(np.exp(rng.uniform(np.log(3.0), np.log(20.0))))
        ly = float(np.clip(lx * rng.uniform(0.5, 1.0), 3.0, 15.0))
        lz = float(np.clip(rng.uniform(2.5, 3.5) + 0.3 * (lx - 3.0) * rng.uniform(0.0, 1.0),
                           2.5, 8.0))
        volume, surface = lx * ly * lz, 2 * (lx * ly + lx * lz + ly * lz)
        rt_min = max(0.2, _SABINE * volume / (surface * 0.95))
        rt60 = float(np.exp(rng.uniform(np.log(rt_min), np.log(max(rt_min, 1.5)))))
        margin = 0.5
        depth = min(3.0, 0.35 * lx)  # the stage: x in [margin, depth], across the room's width
        width = min(ly - 2 * margin, rng.uniform(2.0, 8.0))
        centre_y = rng.uniform(margin + width / 2, ly - margin - width / 2)
        centre = np.array([(margin + depth) / 2, centre_y, 1.3])
        # the microphone: 1-6 m from the stage's centre (what fits), into the room, at 1-3 m
        azimuth = rng.uniform(-0.7, 0.7)
        direction = np.array([np.cos(azimuth), np.sin(azimuth)])
        reach = []
        for axis, size in enumerate((lx, ly)):  # how far the direction stays >= margin inside
            d = direction[axis]
            if abs(d) > 1e-9:
                bound = (size - margin - centre[axis]) / d if d > 0 else \
                    (margin - centre[axis]) / d
                reach.append(bound)
        distance = rng.uniform(1.0, float(np.clip(min(reach), 1.0, 6.0)))
        mic_z = rng.uniform(1.0, min(3.0, lz - margin))
        mic = np.array([*(centre[:2] + distance * direction), mic_z])
        mic = np.clip(mic, margin, np.array([lx, ly, lz]) - margin)
        sources = []
        for _ in range(n_sources):
            for _attempt in range(20):  # players no closer than 0.5 m to the microphone
                pos = np.array([rng.uniform(margin, depth),
                                centre_y + rng.uniform(-width / 2, width / 2),
                                rng.uniform(0.8, 1.8)])
                if np.linalg.norm(pos - mic) >= 0.5:
                    break
            sources.append(tuple(float(v) for v in pos))
        return ShoeboxRoom(dims=(lx, ly, lz), rt60=rt60,
                           hf_rt60_ratio=float(rng.uniform(0.45, 0.8)), sources=tuple(sources),
                           mic=tuple(float(v) for v in mic),
                           stage_centre=tuple(float(v) for v in centre))


def _nearest_image(room: ShoeboxRoom, source: np.ndarray, order: int) -> float:
    """The distance from the microphone to the nearest image source of reflection order
    ``order`` (a lattice walk: the image with indices (i, j, k) has order |i| + |j| + |k|)."""
    mic, dims = np.asarray(room.mic), np.asarray(room.dims)
    best = np.inf
    idx = np.arange(-order, order + 1)
    i, j = np.meshgrid(idx, idx, indexing="ij")
    rest = order - np.abs(i) - np.abs(j)
    ok = rest >= 0
    i, j, rest = i[ok], j[ok], rest[ok]
    for k in (rest, -rest):
        d2 = 0.0
        for n, axis in ((i, 0), (j, 1), (k, 2)):
            pos = n * dims[axis] + np.where(n % 2 == 0, source[axis], dims[axis] - source[axis])
            d2 = d2 + (pos - mic[axis]) ** 2
        best = min(best, float(np.sqrt(d2.min())))
    return best


def _complete_until(room: ShoeboxRoom, source: np.ndarray, max_order: int) -> float:
    """Seconds after which image sources beyond ``max_order`` start to arrive."""
    return min(_nearest_image(room, source, o) for o in range(max_order + 1, max_order + 4)) \
        / SPEED_OF_SOUND


def image_source_rirs(room: ShoeboxRoom, sample_rate: int, rng: np.random.Generator,
                      early_s: float = 0.06, max_order_cap: int = 14,
                      fade_s: float = 0.005) -> tuple[list[np.ndarray], dict]:
    """Each source's impulse response to the microphone (direct path at ``distance / c``), and
    what was used: ``max_order``, ``ism_until_s`` (per source) and the direct delays."""
    import pyroomacoustics as pra

    mic = np.asarray(room.mic)
    sources = [np.asarray(s) for s in room.sources]
    direct = [float(np.linalg.norm(s - mic)) / SPEED_OF_SOUND for s in sources]
    max_order = max_order_cap
    for order in range(2, max_order_cap + 1):
        if all(_complete_until(room, s, order) >= d + early_s for s, d in zip(sources, direct)):
            max_order = order
            break
    until = [_complete_until(room, s, max_order) for s in sources]
    shoebox = pra.ShoeBox(list(room.dims), fs=sample_rate,
                          materials=pra.Material(float(min(room.absorption, 1.0))),
                          max_order=max_order, air_absorption=False)
    for s in sources:
        shoebox.add_source(s)
    shoebox.add_microphone(mic)
    shoebox.compute_rir()
    latency = pra.constants.get("frac_delay_length") // 2
    fade = max(1, int(fade_s * sample_rate))
    split = signal.butter(2, min(3000.0, 0.35 * sample_rate), fs=sample_rate, output="sos")
    rirs = []
    for s, (t_direct, t_x) in enumerate(zip(direct, until)):
        ism = np.asarray(shoebox.rir[0][s], np.float64)[latency:]
        ism = ism / max(np.abs(ism).max(), 1e-12)  # levels are set after the room
        x = int(t_x * sample_rate)
        taps = x + int(1.2 * room.rt60 * sample_rate)
        t = (np.arange(taps) - x) / sample_rate  # time from the crossover
        ism = np.pad(ism[:taps], (0, max(0, taps - len(ism))))
        # the image sources' energy just before the crossover, with the decay undone
        lo = max(int((t_direct + 0.005) * sample_rate), x - int(0.025 * sample_rate))
        lo = min(lo, x - fade - 1)
        window = slice(max(lo, 0), x)
        level = np.mean(ism[window] ** 2 * np.exp(13.8 * t[window] / room.rt60))
        noise = rng.standard_normal(taps)
        low = signal.sosfilt(split, noise)
        high = noise - low
        tail = np.sqrt(level) * (low * np.exp(-6.9 * t / room.rt60)
                                 + high * np.exp(-6.9 * t / (room.rt60 * room.hf_rt60_ratio)))
        ramp = np.clip((np.arange(taps) - (x - fade)) / fade, 0.0, 1.0) * (np.pi / 2)
        rirs.append(ism * np.cos(ramp) + tail * np.sin(ramp))
    used = {"max_order": int(max_order), "ism_until_s": [_r(u) for u in until],
            "direct_delay_s": [_r(d, 5) for d in direct]}
    return rirs, used


# --- the microphone and its preamp --------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EqBand:
    kind: str  # peak | low_shelf | high_shelf
    freq_hz: float
    gain_db: float
    q: float


@dataclasses.dataclass(frozen=True)
class MicChain:
    """A microphone's and preamp's linear colouring: low-cut, EQ bands, an optional low-pass."""

    lowcut_hz: float
    eq: tuple[EqBand, ...]
    lowpass_hz: float | None

    @staticmethod
    def draw(rng: np.random.Generator, sample_rate: int) -> MicChain:
        top = 0.4 * sample_rate  # no band at or beyond Nyquist
        lowcut = float(np.exp(rng.uniform(np.log(20.0), np.log(120.0))))
        bands = []
        for _ in range(int(rng.integers(2, 4))):
            kind = ("peak", "low_shelf", "high_shelf")[int(rng.integers(3))]
            lo, hi = {"peak": (100.0, 8000.0), "low_shelf": (80.0, 400.0),
                      "high_shelf": (2000.0, 10000.0)}[kind]
            freq = float(min(np.exp(rng.uniform(np.log(lo), np.log(hi))), top))
            q = float(rng.uniform(0.5, 2.0)) if kind == "peak" else 0.7071
            bands.append(EqBand(kind, freq, float(rng.uniform(-6.0, 6.0)), q))
        lowpass = float(np.exp(rng.uniform(np.log(8000.0), np.log(20000.0))))
        keep_lowpass = rng.random() < 0.5 and lowpass < top
        return MicChain(lowcut, tuple(bands), lowpass if keep_lowpass else None)

    def board(self):
        import pedalboard as pb

        kinds = {"peak": pb.PeakFilter, "low_shelf": pb.LowShelfFilter,
                 "high_shelf": pb.HighShelfFilter}
        plugins = [pb.HighpassFilter(self.lowcut_hz), pb.HighpassFilter(self.lowcut_hz)]
        plugins += [kinds[b.kind](cutoff_frequency_hz=b.freq_hz, gain_db=b.gain_db, q=b.q)
                    for b in self.eq]
        if self.lowpass_hz is not None:
            plugins.append(pb.LowpassFilter(self.lowpass_hz))
        return pb.Pedalboard(plugins)

    def apply(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        """``x`` through the chain (from rest), float64."""
        y = self.board()(np.asarray(x, np.float32), sample_rate, reset=True)
        return np.asarray(y, np.float64)

    def to_info(self) -> dict:
        return {"lowcut_hz": _r(self.lowcut_hz, 2), "lowcut_db_per_octave": 12,
                "eq": [{"type": b.kind, "freq_hz": _r(b.freq_hz, 2), "gain_db": _r(b.gain_db, 3),
                        "q": _r(b.q, 3)} for b in self.eq],
                "lowpass_hz": None if self.lowpass_hz is None else _r(self.lowpass_hz, 1)}


@dataclasses.dataclass(frozen=True)
class Compressor:
    """A gentle feed-forward compressor (threshold relative to the mixture's peak)."""

    depth_db: float  #: the threshold, this far below the input's loudest 1 ms peak
    ratio: float
    attack_ms: float
    release_ms: float
    knee_db: float = 6.0

    @staticmethod
    def draw(rng: np.random.Generator) -> Compressor:
        return Compressor(depth_db=float(rng.uniform(3.0, 12.0)),
                          ratio=float(rng.uniform(1.5, 3.0)),
                          attack_ms=float(rng.uniform(5.0, 30.0)),
                          release_ms=float(rng.uniform(50.0, 300.0)))

    def gain(self, x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
        """The side chain: a per-sample linear gain (<= 1) for the signal ``x``, and its largest
        reduction in dB.

        1 ms blocks' peaks in dB; a soft-knee static curve gives the wanted gain reduction; a
        one-pole smoother follows it with ``attack_ms`` when the reduction grows and
        ``release_ms`` when it shrinks; the block gains are interpolated to samples.
        """
        hop = max(1, sample_rate // 1000)
        n = len(x)
        blocks = -(-n // hop)
        padded = np.pad(np.abs(x), (0, blocks * hop - n))
        level = 20 * np.log10(np.maximum(padded.reshape(blocks, hop).max(axis=1), 1e-9))
        threshold, knee = level.max() - self.depth_db, self.knee_db
        over = level - threshold
        static = np.where(over <= -knee / 2, level,
                          np.where(over >= knee / 2, threshold + over / self.ratio,
                                   level + (1 / self.ratio - 1) * (over + knee / 2) ** 2
                                   / (2 * knee)))
        wanted = static - level  # <= 0 dB
        a_att = math.exp(-hop / (sample_rate * self.attack_ms / 1000))
        a_rel = math.exp(-hop / (sample_rate * self.release_ms / 1000))
        smooth = np.empty(blocks)
        g = 0.0
        for k, w in enumerate(wanted.tolist()):
            a = a_att if w < g else a_rel
            g = a * g + (1 - a) * w
            smooth[k] = g
        centres = (np.arange(blocks) + 0.5) * hop
        reduction = float(-smooth.min()) if blocks else 0.0
        return 10 ** (np.interp(np.arange(n), centres, smooth) / 20), reduction

    def to_info(self) -> dict:
        return {"threshold_below_peak_db": _r(self.depth_db, 3), "ratio": _r(self.ratio, 3),
                "attack_ms": _r(self.attack_ms, 2), "release_ms": _r(self.release_ms, 2),
                "knee_db": _r(self.knee_db, 2), "detector": "peak 1 ms, feed-forward"}


def _self_noise(rng: np.random.Generator, n: int) -> tuple[np.ndarray, float]:
    """Unit-RMS noise between white (tilt 0) and pink (tilt 1), and its tilt."""
    tilt = float(rng.uniform(0.0, 1.0))
    white = rng.standard_normal(n)
    # Kellet's pink-noise filter (-3 dB/octave within 1 % from 10 Hz to Nyquist at 44.1 kHz)
    pink = signal.lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                          [1.0, -2.494956002, 2.017265875, -0.522189400], white)
    pink /= max(float(np.sqrt(np.mean(pink**2))), 1e-12)
    return (1 - tilt) * white + tilt * pink, tilt


def active_rms(x: np.ndarray, sample_rate: int) -> float:
    """RMS over the 50 ms blocks that are not near-silent (a level for sparse parts); 0 for
    digital silence (a part with no note in the clip)."""
    block = max(1, sample_rate // 20)
    n = len(x) // block
    if n == 0:
        return float(np.sqrt(np.mean(x**2) + 1e-20))
    energy = np.mean(x[: n * block].reshape(n, block) ** 2, axis=1)
    loud = energy[energy > energy.max() * 1e-3]
    return float(np.sqrt(np.mean(loud) + 1e-20)) if loud.size else 0.0


# --- the recording ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """A mixed clip: ``stems (sources, samples)``, ``mix (samples,)`` and ``noise (samples,)``,
    all float32, with ``mix == stems.sum(axis=0, dtype=np.float32) + noise`` exactly; ``info``
    says what was drawn (JSON-safe). Unpacks as ``stems, mix, noise, info``."""

    stems: np.ndarray
    mix: np.ndarray
    noise: np.ndarray
    info: dict

    def __iter__(self) -> Iterator:
        return iter((self.stems, self.mix, self.noise, self.info))


def mix_stems(stems: list[np.ndarray], rng: np.random.Generator, sample_rate: int,
              reverb_probability: float, level_spread_db: float, peak: float = 0.89, *,
              room: str = "ism", microphone: bool = True, compression: bool = True,
              noise_floor: bool = True) -> Recording:
    """Record ``stems`` (equal-length dry sources) with one microphone in one room.

    See the module's docstring for the stages. ``microphone=False`` leaves out the filters and
    the compressor, ``compression=False`` only the compressor, ``noise_floor=False`` the noise
    (then ``noise`` is zeros and ``mix == stems.sum(0)``). ``info`` has ``gains_db`` (per stem),
    ``scale`` (the final common scale), ``room`` (None when dry, else its model and draws),
    ``microphone`` and ``compressor`` (None when off), ``noise`` (None when off, else ``db``
    below the mixture's active RMS and ``tilt``).
    """
    if room not in ROOM_MODELS:
        raise ValueError(f"unknown room model {room!r} (expected one of {ROOM_MODELS})")
    gains_db = rng.uniform(-level_spread_db, level_spread_db, size=len(stems))
    wet = bool(rng.random() < reverb_probability)
    room_rng, mic_rng, comp_rng, noise_rng = (
        np.random.default_rng(s) for s in rng.integers(0, 2**63 - 1, size=4))
    n = len(stems[0])
    dry = [np.asarray(s, np.float64) for s in stems]
    silent = [active_rms(s, sample_rate) == 0.0 for s in dry]
    room_info = None
    rirs: list[np.ndarray | None] = [None] * len(dry)
    if wet and room == "simple":
        simple = Room.draw(room_rng)
        rirs = [room_impulse_response(simple, room_rng, sample_rate) for _ in dry]
        room_info = {"model": "simple", **{k: _r(v) for k, v in dataclasses.asdict(simple).items()}}
    elif wet:
        box = ShoeboxRoom.draw(room_rng, len(dry))
        rirs, used = image_source_rirs(box, sample_rate, room_rng)
        stage = np.asarray(box.stage_centre)
        room_info = {
            "model": "ism", "dims_m": [_r(v, 3) for v in box.dims], "rt60_s": _r(box.rt60),
            "hf_rt60_ratio": _r(box.hf_rt60_ratio), "absorption": _r(box.absorption),
            "sources_m": [[_r(v, 3) for v in s] for s in box.sources],
            "mic_m": [_r(v, 3) for v in box.mic], "stage_centre_m": [_r(v, 3) for v in stage],
            "mic_distance_m": _r(np.linalg.norm(np.asarray(box.mic) - stage), 3),
            "source_distances_m": [_r(np.linalg.norm(np.asarray(box.mic) - np.asarray(s)), 3)
                                   for s in box.sources], **used}
    chain = MicChain.draw(mic_rng, sample_rate)
    compressor = Compressor.draw(comp_rng)
    out = np.zeros((len(dry), n), np.float64)
    for k, (x, rir) in enumerate(zip(dry, rirs)):
        if silent[k]:
            continue  # a part with no note stays digital silence (not 0/0 = NaN)
        if rir is not None:
            x = signal.oaconvolve(x, rir)[:n]
        if microphone:
            x = chain.apply(x, sample_rate)
        rms = active_rms(x, sample_rate)
        out[k] = x * (0.1 / rms if rms > 0 else 0.0) * 10 ** (gains_db[k] / 20)
    comp_info = None
    if microphone and compression:
        gain, reduction = compressor.gain(out.sum(axis=0), sample_rate)
        out *= gain
        comp_info = {**compressor.to_info(), "max_reduction_db": _r(reduction, 3)}
    noise = np.zeros(n)
    noise_info = None
    if noise_floor:
        raw, tilt = _self_noise(noise_rng, n)
        if microphone:
            raw = chain.apply(raw, sample_rate)
        noise_db = float(noise_rng.uniform(-70.0, -50.0))
        level = active_rms(out.sum(axis=0), sample_rate) * 10 ** (noise_db / 20)
        noise = raw * (level / max(float(np.sqrt(np.mean(raw**2))), 1e-12))
        noise_info = {"db": _r(noise_db, 3), "tilt": _r(tilt, 3)}
    total = out.sum(axis=0) + noise
    scale = min(1.0, peak / max(float(np.abs(total).max()), 1e-9))
    stems32 = (out * scale).astype(np.float32)
    noise32 = (noise * scale).astype(np.float32)
    mix32 = stems32.sum(axis=0, dtype=np.float32) + noise32
    info = {"gains_db": [_r(g, 3) for g in gains_db], "scale": round(scale, 6), "room": room_info,
            "microphone": chain.to_info() if microphone else None, "compressor": comp_info,
            "noise": noise_info}
    return Recording(stems32, mix32, noise32, info)
