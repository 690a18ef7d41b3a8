"""Stems folders (real stems without video): the format, resampling, trimming, mono mixing,
synonyms, one-line refusals; and the reference sample folder's layout. Everything is written
here (no real recordings). Also the writers the eval tests share."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile

from crn_live.data.stems import (
    MAX_LENGTH_MISMATCH_S,
    StemsError,
    find_data,
    find_stems,
    load_photo,
    open_stems,
    reference_cases,
)


def tone(freq: float, seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little noise, float32 at ``rate``."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * freq * h * t) / h for h in (1, 2, 3))
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return (0.2 * wave + noise).astype(np.float32)


def write_stems_folder(folder: Path, classes: tuple[str, ...] = ("violin", "acoustic_guitar"),
                       seconds: float = 1.0, rate: int = 11025, mix: str | None = None) -> Path:
    """A stems folder of tones, one FLAC per class; ``mix``: also ``mix.wav`` as the ``"mean"``
    or ``"sum"`` of the stems."""
    folder.mkdir(parents=True)
    stems = [tone(220 * (k + 1), seconds, rate, k) for k in range(len(classes))]
    entries = []
    for k, (name, stem) in enumerate(zip(classes, stems)):
        soundfile.write(folder / f"part{k}.flac", stem, rate)
        entries.append({"file": f"part{k}.flac", "class": name})
    (folder / "stems.json").write_text(json.dumps({"stems": entries}))
    if mix is not None:
        total = np.sum(stems, axis=0)
        soundfile.write(folder / "mix.wav", total / len(stems) if mix == "mean" else total,
                        rate, subtype="FLOAT")
    return folder


def write_reference_folder(root: Path, seconds: float = 1.0, rate: int = 11025) -> Path:
    """A reference sample folder: mix2-1 (Electric bass, Xylophone) with stems, outputs and
    photos; duet-1 without stems; a README stating the reference's SDRi."""
    index = {"mix2-1": {"instruments": ["Electric bass", "Xylophone"], "rate": rate,
                        "stems": ["stem1.flac", "stem2.flac"]},
             "duet-1": {"instruments": ["Clarinet", "Acoustic guitar"], "rate": rate,
                        "stems": None}}
    root.mkdir(parents=True)
    (root / "index.json").write_text(json.dumps(index))
    (root / "README.md").write_text("Reference SDRi: mix2-1 12.5 dB SDRi.\n")
    case = root / "mix2-1"
    case.mkdir()
    stems = [tone(110, seconds, rate, 1), tone(660, seconds, rate, 2)]
    soundfile.write(case / "mix.flac", np.mean(stems, axis=0), rate, subtype="PCM_24")
    rng = np.random.default_rng(3)
    for k, stem in enumerate(stems, start=1):
        soundfile.write(case / f"stem{k}.flac", stem, rate, subtype="PCM_24")
        output = stem / 2 + rng.normal(0, 0.005, len(stem))  # a good but imperfect separation
        soundfile.write(case / f"crn_output{k}.flac", output, rate, subtype="PCM_24")
        photo = np.zeros((60, 40, 3), np.uint8)
        photo[:, :, 2] = 200  # red in BGR
        cv2.imwrite(str(case / f"object{k}.png"), photo)
    duet = root / "duet-1"
    duet.mkdir()
    soundfile.write(duet / "mix.flac", np.sum(stems, axis=0), rate)
    return root


def test_a_stems_folder_without_mix_sums_its_stems_at_the_requested_rate(tmp_path) -> None:
    folder = tmp_path / "song"
    folder.mkdir()
    violin = tone(440, 1.0, 22050)
    bass = np.stack([tone(110, 1.02, 11025), tone(110, 1.02, 11025, 1)], axis=1)  # stereo
    soundfile.write(folder / "violin.wav", violin, 22050)
    soundfile.write(folder / "bass.flac", bass, 11025)
    (folder / "stems.json").write_text(json.dumps({"stems": [
        {"file": "violin.wav", "class": "fiddle"}, {"file": "bass.flac", "class": "electric_bass"}]}))
    spec = open_stems(folder)
    assert spec.classes == ("Violin", "Electric bass") and spec.mix_file is None
    data = spec.load(11025)
    assert data.rate == 11025 and data.stems.shape == (2, 11025)  # trimmed to the shortest
    assert data.stems.dtype == np.float32 and data.stem_gain == 1.0
    np.testing.assert_allclose(data.mix, data.stems.sum(axis=0), atol=1e-6)
    np.testing.assert_allclose(data.stems[1], bass.mean(axis=1)[:11025], atol=1e-4)  # mono mix
    resampled = np.abs(np.fft.rfft(data.stems[0]))
    assert abs(np.argmax(resampled) - 440) <= 1  # 440 Hz kept through 22050 -> 11025


def test_a_mixture_that_is_the_mean_scales_the_stems_to_add_up(tmp_path) -> None:
    data = open_stems(write_stems_folder(tmp_path / "mean", mix="mean")).load(11025)
    assert data.stem_gain == pytest.approx(0.5, abs=1e-4)
    np.testing.assert_allclose(data.stems.sum(axis=0), data.mix, atol=1e-4)
    assert open_stems(write_stems_folder(tmp_path / "sum", mix="sum")).load(11025).stem_gain \
        == pytest.approx(1.0, abs=1e-4)
    other = write_stems_folder(tmp_path / "other", mix="sum")
    soundfile.write(other / "mix.wav", tone(1000, 1.0, 11025), 11025)  # not the stems' sum
    assert open_stems(other).load(11025).stem_gain == 1.0


def _refused(folder: Path, load: bool = False) -> str:
    with pytest.raises(StemsError) as info:
        spec = open_stems(folder)
        if load:
            spec.load(11025)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_bad_stems_folders_are_refused_in_one_line(tmp_path) -> None:
    assert "no stems.json" in _refused(tmp_path)
    folder = write_stems_folder(tmp_path / "a")
    spec = json.loads((folder / "stems.json").read_text())
    (folder / "stems.json").write_text("{not json")
    assert "is not valid" in _refused(folder)
    (folder / "stems.json").write_text(json.dumps({"stems": [{"file": "part0.flac"}]}))
    assert "is not valid" in _refused(folder)
    (folder / "stems.json").write_text(json.dumps({"stems": []}))
    assert "lists no stems" in _refused(folder)
    (folder / "stems.json").write_text(json.dumps(
        {"stems": spec["stems"] + [{"file": "gone.flac", "class": "Flute"}]}))
    assert "gone.flac not found" in _refused(folder)
    (folder / "stems.json").write_text(json.dumps(
        {"stems": [{"file": "part0.flac", "class": "kazoo"}]}))
    assert "unknown instrument 'kazoo'" in _refused(folder)
    (folder / "stems.json").write_text(json.dumps(spec))
    (folder / "part1.flac").write_bytes(b"not audio")
    assert "cannot read audio" in _refused(folder, load=True)
    soundfile.write(folder / "part1.flac", tone(330, 1.0 + MAX_LENGTH_MISMATCH_S + 0.5, 11025),
                    11025)
    assert "differ in length" in _refused(folder, load=True)


def test_find_data_takes_a_stems_folder_or_a_folder_of_them(tmp_path) -> None:
    write_stems_folder(tmp_path / "b")
    write_stems_folder(tmp_path / "a")
    (tmp_path / "notes").mkdir()
    assert [s.name for s in find_data(tmp_path)] == ["a", "b"]
    assert [s.name for s in find_stems(tmp_path / "a")] == ["a"]
    assert [s.name for s in find_data(tmp_path / "a")] == ["a"]
    from crn_live.data.clips import ClipError

    with pytest.raises(ClipError, match="no clip or stems folders"):
        find_data(tmp_path / "notes")
    with pytest.raises(ClipError, match="does not exist"):
        find_data(tmp_path / "nowhere")


def test_reference_folder_cases_and_photos(tmp_path) -> None:
    root = write_reference_folder(tmp_path / "ref")
    cases, skipped = reference_cases(root)
    assert [c.name for c in cases] == ["mix2-1"]
    assert cases[0].stems.classes == ("Electric bass", "Xylophone")
    assert [p.name for p in cases[0].outputs] == ["crn_output1.flac", "crn_output2.flac"]
    assert skipped == [{"case": "duet-1", "instruments": ["Clarinet", "Acoustic guitar"],
                        "reason": "no true stems (a real recording): listening only"}]
    crop = load_photo(cases[0].photos[0], 32)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert crop[16, 16, 0] == 200 and crop[16, 16, 2] == 0  # RGB: the red is channel 0
    (cases[0].outputs[1]).unlink()
    with pytest.raises(StemsError, match="crn_output2.flac not found"):
        reference_cases(root)
    with pytest.raises(StemsError, match="no index.json"):
        reference_cases(tmp_path)
