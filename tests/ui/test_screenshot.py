"""ui.screenshot: the window on the demo scene, saved as a PNG of the asked size."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from crn_live.ui.screenshot import main

pytestmark = pytest.mark.slow


def test_writes_a_png_of_the_window_on_the_demo(qapp, pulse, tmp_path, capsys):
    out = tmp_path / "shots" / "window.png"
    assert main([str(out), "--seconds", "1", "--size", "800x500"]) == 0
    image = QImage(str(out))
    assert not image.isNull()
    assert (image.width(), image.height()) == (800, 500)
    colours = {image.pixel(x, y) for x in range(0, 800, 40) for y in range(0, 500, 25)}
    assert len(colours) > 5  # toolbar, video, spectrograms: not one flat colour
    assert f"wrote {out} (800x500" in capsys.readouterr().out
