"""Pure DSP core: causal STFT, log-frequency warp, streaming STFT, ring buffer, resampling."""

from crn_live.dsp.resample import StreamResampler, resample
from crn_live.dsp.ringbuffer import AudioRingBuffer
from crn_live.dsp.stft import (
    MIN_ENVELOPE_RATIO,
    check_wola,
    istft,
    istft_np,
    magphase,
    make_window,
    overlap_add_envelope,
    polar,
    stft,
    stft_np,
    wola_norm,
)
from crn_live.dsp.streaming import StreamingIstft, StreamingStft
from crn_live.dsp.warp import (
    LogFrequencyWarp,
    linear_bin_frequencies,
    log_bin_frequencies,
    log_bin_index,
    unwarp_matrix,
    warp_matrix,
)

__all__ = [
    "AudioRingBuffer",
    "LogFrequencyWarp",
    "MIN_ENVELOPE_RATIO",
    "StreamResampler",
    "StreamingIstft",
    "StreamingStft",
    "check_wola",
    "istft",
    "istft_np",
    "linear_bin_frequencies",
    "log_bin_frequencies",
    "log_bin_index",
    "magphase",
    "make_window",
    "overlap_add_envelope",
    "polar",
    "resample",
    "stft",
    "stft_np",
    "unwarp_matrix",
    "warp_matrix",
    "wola_norm",
]
