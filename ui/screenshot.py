"""Save a screenshot of the running window on the bundled demo scene.

``xvfb-run -a -s "-screen 0 1280x800x24" python -m ui.screenshot docs/screenshot.png`` (any Qt
platform works, offscreen included). The demo plays into the PulseAudio null sink when one can
be set up (else without output); the window's settings go to a temporary file, never the
user's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.screenshot",
                                description="Screenshot of the window on the demo scene.")
    p.add_argument("out", type=Path, help="PNG file to write")
    p.add_argument("--seconds", type=float, default=6.0,
                   help="how long the demo plays before the shot (6)")
    p.add_argument("--size", default="1280x800", help="window size WxH (1280x800)")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from crn_live.stream.devices import ensure_pulse_null_sink
    from crn_live.stream.session import SessionOptions
    from .app import application
    from .main_window import MainWindow

    try:
        output = "default" if ensure_pulse_null_sink() else None
    except Exception:  # no PulseAudio / PortAudio: the picture needs no sound
        output = None
    app = application()
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "crn-live.ini"), QSettings.Format.IniFormat)
        window = MainWindow(SessionOptions.demo(output=output), settings=settings)
        window.resize(width, height)
        window.move(0, 0)
        window.show()
        deadline = time.monotonic() + 30.0
        while window.session is None and window.error is None and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        if window.error is not None:
            print(f"could not open the demo: {window.error}")
            return 1
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        window.bridge.statusChanged.emit(window.session.status())  # the newest numbers
        app.processEvents()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(args.out)):
            print(f"could not write {args.out}")
            return 1
        print(f"wrote {args.out} ({width}x{height}, {window.bridge.stats()['fps']:.0f} fps)")
        window.close()
        QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
