"""Mixing as a recording: image-source rooms (pyroomacoustics), a microphone chain (pedalboard),
a shared compressor gain, a noise floor; the mixture is always exactly the stems plus the noise."""

import json

import numpy as np
import pytest
from scipy import signal

from crn_live.data.mixing import ShoeboxRoom, active_rms, image_source_rirs, mix_stems

FS = 16000
N = 3 * FS


def _stems(seed=0, k=3):
    """``k`` different dry parts: noise bursts and tones at very different raw levels."""
    r = np.random.default_rng(seed)
    t = np.arange(N) / FS
    out = []
    for j in range(k):
        gate = (np.sin(2 * np.pi * (0.7 + 0.4 * j) * t) > 0).astype(float)
        x = (0.3 * np.sin(2 * np.pi * 220 * (j + 1) * t) + 0.1 * r.standard_normal(N)) * gate
        out.append((x * 10.0 ** (-2 * j)).astype(np.float32))
    return out


def _db(x):
    return 20 * np.log10(x)


@pytest.mark.parametrize("room", ["ism", "simple"])
def test_same_seed_same_bytes_other_seed_differs(room):
    stems = _stems()
    a = mix_stems(stems, np.random.default_rng(5), FS, 1.0, 10.0, room=room)
    b = mix_stems(stems, np.random.default_rng(5), FS, 1.0, 10.0, room=room)
    c = mix_stems(stems, np.random.default_rng(6), FS, 1.0, 10.0, room=room)
    for field in ("stems", "mix", "noise"):
        x, y, z = (getattr(r, field) for r in (a, b, c))
        assert x.tobytes() == y.tobytes() and x.tobytes() != z.tobytes()
    assert a.info == b.info and a.info != c.info
    assert json.loads(json.dumps(a.info)) == a.info  # JSON-safe, as meta.json needs
    assert a.info["room"]["model"] == room


@pytest.mark.parametrize("kwargs", [
    {}, {"room": "simple"}, {"noise_floor": False}, {"microphone": False},
    {"compression": False}, {"reverb": 0.0}])
def test_mix_is_exactly_the_stems_plus_the_noise(kwargs):
    kwargs = dict(kwargs)
    reverb = kwargs.pop("reverb", 1.0)
    for seed in range(3):
        stems, mix, noise, info = mix_stems(_stems(seed), np.random.default_rng(seed), FS, reverb,
                                            10.0, **kwargs)
        assert stems.dtype == mix.dtype == noise.dtype == np.float32
        assert stems.shape == (3, N) and mix.shape == noise.shape == (N,)
        assert np.array_equal(mix, stems.sum(axis=0, dtype=np.float32) + noise)
        assert np.isfinite(mix).all() and np.abs(mix).max() <= 0.89 + 1e-6
        assert (info["room"] is None) == (reverb == 0.0)
        if kwargs.get("noise_floor") is False:
            assert not noise.any() and info["noise"] is None
        else:
            assert noise.any()


def test_reverb_tail_after_a_click_decays_and_the_direct_path_has_its_distance_delay():
    click = np.zeros(N, np.float32)
    start, end = int(0.2 * FS), int(0.21 * FS)
    click[start:end] = np.random.default_rng(0).standard_normal(end - start)
    for seed in range(3):
        wet = mix_stems([click], np.random.default_rng(seed), FS, 1.0, 0.0, microphone=False,
                        noise_floor=False)
        x, room = wet.stems[0].astype(np.float64), wet.info["room"]
        energy = [np.sum(x[end + int(a * FS): end + int(b * FS)] ** 2)
                  for a, b in ((0.05, 0.1), (0.1, 0.15), (0.25, 0.3))]
        assert energy[0] > 1e-4 * np.sum(x**2)  # a tail where the dry click is silent
        assert energy[0] > energy[1] > energy[2]
        onset = np.argmax(np.abs(x) > 0.05 * np.abs(x).max()) / FS
        assert abs(onset - 0.2 - room["direct_delay_s"][0]) < 0.002
        assert room["direct_delay_s"][0] == pytest.approx(room["source_distances_m"][0] / 343.0,
                                                          abs=1e-4)
        dry = mix_stems([click], np.random.default_rng(seed), FS, 0.0, 0.0, microphone=False,
                        noise_floor=False).stems[0]
        assert not dry[end:].any() and not dry[:start].any()


def _rt60(h):
    """T20 of an impulse response in 250-2000 Hz, from its Schroeder integral."""
    h = signal.sosfiltfilt(signal.butter(4, [250, 2000], btype="band", fs=FS, output="sos"), h)
    edc = np.cumsum((h**2)[::-1])[::-1]
    edc = 10 * np.log10(edc / edc[0] + 1e-30)
    i5, i25 = np.argmax(edc < -5), np.argmax(edc < -25)
    slope = np.polyfit(np.arange(i5, i25) / FS, edc[i5:i25], 1)[0]
    return -60.0 / slope


def test_rt60_of_the_responses_matches_the_drawn_room():
    rt60s = []
    for seed in range(6):
        room = ShoeboxRoom.draw(np.random.default_rng(seed), 2)
        rirs, used = image_source_rirs(room, FS, np.random.default_rng(seed))
        assert 2 <= used["max_order"] <= 14
        for h in rirs:
            assert np.isfinite(h).all()
            assert 1 / 1.5 < _rt60(h) / room.rt60 < 1.5
        rt60s.append(room.rt60)
        lo = np.array(room.sources + (room.mic,))
        assert (lo >= 0.5 - 1e-9).all() and (lo <= np.array(room.dims) - 0.5 + 1e-9).all()
        assert 0.2 <= room.rt60 <= 1.5 and 0 < room.absorption <= 0.95 + 1e-9
    assert max(rt60s) / min(rt60s) > 1.5  # the draws do vary


def _tone_level(x, freq):
    """Amplitude of the ``freq`` component of ``x`` after its first half second."""
    t = np.arange(len(x)) / FS
    keep = t >= 0.5
    basis = np.stack([np.sin(2 * np.pi * freq * t[keep]), np.cos(2 * np.pi * freq * t[keep])], 1)
    coef = np.linalg.lstsq(basis, x[keep].astype(np.float64), rcond=None)[0]
    return float(np.hypot(*coef))


def test_the_microphone_low_cut_removes_what_is_below_its_cutoff():
    t = np.arange(N) / FS
    for seed in range(4):
        lowcut = mix_stems([np.ones(N, np.float32)], np.random.default_rng(seed), FS, 0.0, 0.0,
                           noise_floor=False).info["microphone"]["lowcut_hz"]
        low = lowcut / 4
        stem = (0.3 * np.sin(2 * np.pi * low * t) + 0.3 * np.sin(2 * np.pi * 1000 * t))
        kw = {"compression": False, "noise_floor": False}
        on = mix_stems([stem.astype(np.float32)], np.random.default_rng(seed), FS, 0.0, 0.0, **kw)
        off = mix_stems([stem.astype(np.float32)], np.random.default_rng(seed), FS, 0.0, 0.0,
                        microphone=False, **kw)
        assert on.info["microphone"]["lowcut_hz"] == lowcut and off.info["microphone"] is None
        ratio_on = _tone_level(on.mix, low) / _tone_level(on.mix, 1000)
        ratio_off = _tone_level(off.mix, low) / _tone_level(off.mix, 1000)
        assert ratio_off == pytest.approx(1.0, rel=0.02)
        # two first-order high-passes: -24.6 dB at a quarter of the cutoff, EQ moves it <= 13 dB
        assert _db(ratio_on / ratio_off) < -10


def test_compression_lowers_the_crest_factor_with_one_gain_for_every_stem():
    t = np.arange(N) / FS
    swell = 0.15 + 0.85 * np.sin(np.pi * t / 1.5) ** 8  # loud swells, slower than any attack
    stems = [(swell * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (220, 330, 495)]
    for seed in range(3):
        kw = {"noise_floor": False}
        on = mix_stems(stems, np.random.default_rng(seed), FS, 0.0, 6.0, **kw)
        off = mix_stems(stems, np.random.default_rng(seed), FS, 0.0, 6.0, compression=False, **kw)
        assert on.info["compressor"]["max_reduction_db"] > 0.3 and off.info["compressor"] is None

        def crest(x):
            return np.abs(x).max() / np.sqrt(np.mean(x.astype(np.float64) ** 2))

        assert crest(on.mix) < crest(off.mix) * 0.98
        big = np.all(np.abs(off.stems) > 0.02 * np.abs(off.stems).max(axis=1, keepdims=True), 0)
        gains = on.stems[:, big].astype(np.float64) / off.stems[:, big]
        assert np.allclose(gains, gains[0], rtol=1e-4)  # the same gain on every stem
        assert gains[0].max() / gains[0].min() > 1.03  # ... and it moves in time


def test_levels_are_spread_within_the_drawn_bounds():
    stems = _stems(1)
    drawn = []
    for seed in range(6):
        rec = mix_stems(stems, np.random.default_rng(seed), FS, 1.0, 10.0, compression=False,
                        noise_floor=False)
        gains = np.array(rec.info["gains_db"])
        assert (np.abs(gains) <= 10.0).all()
        levels = np.array([_db(active_rms(s.astype(np.float64), FS)) for s in rec.stems])
        # the raw parts differ by 40 dB; after the room and microphone only the drawn gains remain
        assert levels - levels[0] == pytest.approx(gains - gains[0], abs=0.01)
        drawn.extend(gains)
    assert np.ptp(drawn) > 10.0


def test_noise_floor_is_at_its_drawn_level_below_the_mixture():
    for seed in range(4):
        rec = mix_stems(_stems(seed), np.random.default_rng(seed), FS, 0.5, 10.0)
        db = rec.info["noise"]["db"]
        assert -70.0 <= db <= -50.0
        music = active_rms(rec.stems.sum(axis=0, dtype=np.float64), FS)
        measured = _db(np.sqrt(np.mean(rec.noise.astype(np.float64) ** 2)) / music)
        assert measured == pytest.approx(db, abs=0.05)


@pytest.mark.parametrize("room", ["ism", "simple"])
def test_a_silent_stem_stays_silent_in_any_room(room):
    stems = _stems(2)
    stems[1] = np.zeros(N, np.float32)
    for seed, reverb in ((0, 1.0), (1, 0.0)):
        rec = mix_stems(stems, np.random.default_rng(seed), FS, reverb, 10.0, room=room)
        assert np.isfinite(rec.stems).all() and np.isfinite(rec.mix).all()
        assert not rec.stems[1].any() and rec.stems[0].any() and rec.noise.any()
        assert np.array_equal(rec.mix, rec.stems.sum(axis=0, dtype=np.float32) + rec.noise)
    everything_silent = mix_stems([np.zeros(N, np.float32)] * 2, np.random.default_rng(0), FS,
                                  1.0, 10.0, room=room)
    assert not everything_silent.mix.any() and np.isfinite(everything_silent.mix).all()


def test_unknown_room_model_is_refused():
    with pytest.raises(ValueError, match="room model"):
        mix_stems(_stems(), np.random.default_rng(0), FS, 1.0, 10.0, room="cathedral")
