"""One stable colour per strip: a track id always gets the same colour, in its video box and in
its mixer strip, for the whole run (and across runs).

Track ids cycle through a palette of distinct hues chosen to stand out on a dark background;
the mixture and the residual have fixed greys.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

#: Track colours, in the order ids 1, 2, 3, ... take them (bright enough for a dark theme).
PALETTE = ("#4fc3f7", "#ffb74d", "#81c784", "#f06292", "#ba68c8", "#fff176",
           "#4db6ac", "#ff8a65", "#9575cd", "#aed581")
#: Colours of the two strips that are not tracks.
MIX_COLOR = "#e0e0e0"
RESIDUAL_COLOR = "#9e9e9e"


def color_hex(key) -> str:
    """``#rrggbb`` of a strip key: a track id (int), ``"mix"`` or ``"residual"``.

    Track ids map onto :data:`PALETTE` by ``(id - 1) mod len(PALETTE)``, so the colour depends
    on the id alone (never on how many tracks exist or in which order they appeared).
    """
    if key == "mix":
        return MIX_COLOR
    if key == "residual":
        return RESIDUAL_COLOR
    if isinstance(key, bool) or not isinstance(key, int):
        raise ValueError(f"a strip key is a track id, 'mix' or 'residual', got {key!r}")
    return PALETTE[(key - 1) % len(PALETTE)]


def color_for(key) -> QColor:
    """:func:`color_hex` as a QColor."""
    return QColor(color_hex(key))
