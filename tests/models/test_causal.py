"""ChunkedCausalCRN: step shapes, streaming == stepping by hand, exact causality."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from crn_live.models import ChunkedCausalCRN, log_magnitude
from tests.helpers import lively, mixture_inputs, tiny_config

SILENT_LOG = float(log_magnitude(torch.zeros(())))


def test_step_emits_the_newest_chunk() -> None:
    config = tiny_config()
    model = lively(ChunkedCausalCRN(config))
    with torch.no_grad():
        masks = model.step(*model.example_inputs(3))
    assert masks.shape == (3, 1, config.log_bins, config.chunk_frames)


def test_step_refuses_other_window_lengths() -> None:
    config = tiny_config()
    log_mix, mix_mag, embeddings = mixture_inputs(config, 1, 32)
    with pytest.raises(ValueError, match="16 frames"):
        ChunkedCausalCRN(config).step(log_mix, mix_mag, embeddings, torch.zeros(1).long())


@pytest.mark.parametrize("lookahead", [0, 2])
def test_run_offline_equals_stepping_by_hand(lookahead: int) -> None:
    config = tiny_config(lookahead_frames=lookahead)
    model = lively(ChunkedCausalCRN(config))
    frames, chunk, context = 22, config.chunk_frames, config.context_frames
    log_mix, mix_mag, embeddings = mixture_inputs(config, 2, frames)
    ids = torch.zeros(2, dtype=torch.long)
    # A live engine's window ring: starts silent, takes one frame per hop.
    ring_log = torch.full((2, 1, config.log_bins, context), SILENT_LOG)
    ring_mag = torch.zeros(2, 1, config.log_bins, context)
    stream_log = F.pad(log_mix, (0, lookahead + chunk), value=SILENT_LOG)
    stream_mag = F.pad(mix_mag, (0, lookahead + chunk))
    by_hand = []
    with torch.no_grad():
        for t in range(frames + lookahead):
            ring_log = torch.cat((ring_log[..., 1:], stream_log[..., t:t + 1]), dim=-1)
            ring_mag = torch.cat((ring_mag[..., 1:], stream_mag[..., t:t + 1]), dim=-1)
            chunk_done = t >= lookahead and (t - lookahead) % chunk == chunk - 1
            if (chunk_done or t == frames + lookahead - 1) and len(by_hand) * chunk < frames:
                by_hand.append(_step_at(model, t, ring_log, ring_mag, embeddings, ids))
        offline = model.run_offline(log_mix, mix_mag, embeddings, ids)
    assert offline.shape == (2, 1, config.log_bins, frames)
    assert torch.equal(offline, torch.cat(by_hand, dim=-1)[..., :frames])


def _step_at(model: ChunkedCausalCRN, t: int, ring_log: torch.Tensor, ring_mag: torch.Tensor,
             embeddings: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """One step once frame ``t`` (chunk end + lookahead, or the flushed tail) is in the ring."""
    cfg = model.config
    newest_emitted = t - cfg.lookahead_frames
    missing = cfg.chunk_frames - 1 - newest_emitted % cfg.chunk_frames
    if missing:  # the sequence ended inside a chunk: flush with silent frames
        silent_log = torch.full_like(ring_log[..., :missing], SILENT_LOG)
        ring_log = torch.cat((ring_log[..., missing:], silent_log), dim=-1)
        ring_mag = torch.cat((ring_mag[..., missing:], torch.zeros_like(silent_log)), dim=-1)
    return model.step(ring_log, ring_mag, embeddings, ids)


@pytest.mark.parametrize("lookahead, t", [(0, 13), (0, 16), (2, 13), (1, 20)])
def test_a_frame_never_changes_earlier_chunks(lookahead: int, t: int) -> None:
    config = tiny_config(lookahead_frames=lookahead)
    model = lively(ChunkedCausalCRN(config))
    log_mix, mix_mag, embeddings = mixture_inputs(config, 2, 28)
    ids = torch.zeros(2, dtype=torch.long)
    changed_mag = mix_mag.clone()
    changed_mag[..., t] += 1.0
    with torch.no_grad():
        before = model.run_offline(log_mix, mix_mag, embeddings, ids)
        after = model.run_offline(log_magnitude(changed_mag), changed_mag, embeddings, ids)
    chunk = config.chunk_frames
    first_affected = chunk * math.ceil((t - lookahead + 1) / chunk) - chunk
    assert first_affected >= t - lookahead - (chunk - 1)
    assert torch.equal(before[..., :first_affected], after[..., :first_affected])
    assert not torch.equal(before[..., first_affected:], after[..., first_affected:])
