"""Reading and writing audio files (the only module that touches libsndfile).

Float WAVs are written without libsndfile's PEAK chunk: it carries a time stamp, and the corpus
promises the same bytes for the same seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from crn_live.errors import UserError

_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def write_wav(path: Path, samples: np.ndarray, sample_rate: int, subtype: str = "FLOAT") -> None:
    """Write ``(frames,)`` or ``(frames, channels)`` audio as WAV, byte-reproducibly."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with soundfile.SoundFile(str(path), "w", sample_rate, channels, subtype=subtype,
                             format="WAV") as out:
        soundfile._snd.sf_command(out._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
        out.write(samples)


def read_audio(path: Path, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """``(frames,)`` mono or ``(frames, channels)`` samples and the rate; UserError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"audio file {path} not found")
    try:
        samples, rate = soundfile.read(str(path), dtype=dtype, always_2d=False)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise UserError(f"cannot read audio {path}: {exc}; use WAV, FLAC or OGG") from None
    return samples, int(rate)


def read_mono(path: Path) -> tuple[np.ndarray, int]:
    """``(frames,)`` float32 mono (channels averaged) and the rate; UserError if unreadable."""
    samples, rate = read_audio(path)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return np.ascontiguousarray(samples, np.float32), rate


def write_wav_atomic(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """:func:`write_wav` (float32) under a hidden partial name, renamed onto ``path`` when
    complete: a reader never sees half a file."""
    from crn_live.data.files import atomic_path

    with atomic_path(path) as partial:
        write_wav(partial, np.asarray(samples, np.float32), sample_rate)
