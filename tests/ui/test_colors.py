"""ui.colors: one stable colour per track id."""

from __future__ import annotations

import pytest

from crn_live.ui.colors import MIX_COLOR, PALETTE, RESIDUAL_COLOR, color_for, color_hex


def test_colour_depends_on_the_track_id_only():
    first = [color_hex(k) for k in (3, 1, 7, 2)]
    again = [color_hex(k) for k in (7, 2, 3, 1)]
    assert dict(zip((3, 1, 7, 2), first)) == dict(zip((7, 2, 3, 1), again))
    assert color_for(5).name() == color_hex(5)


def test_neighbouring_ids_differ_and_the_palette_cycles():
    assert len({color_hex(k) for k in range(1, len(PALETTE) + 1)}) == len(PALETTE)
    assert color_hex(1) == color_hex(1 + len(PALETTE))


def test_mixture_and_residual_have_their_own_greys():
    assert color_hex("mix") == MIX_COLOR and color_hex("residual") == RESIDUAL_COLOR
    assert MIX_COLOR not in PALETTE and RESIDUAL_COLOR not in PALETTE


@pytest.mark.parametrize("key", ["violin", 1.5, True, None])
def test_other_keys_are_refused(key):
    with pytest.raises(ValueError):
        color_hex(key)
