"""UI benchmark: the demo scene for ``--seconds`` with the window (Qt offscreen) and without.

Each run is a fresh process (``--phase window`` / ``--phase headless``) on the same session
options (``SessionOptions.demo()``, adaptive as in the app, output into the PulseAudio null
sink when one can be set up). Written to ``--json`` (default
``benchmarks/results/ui_bench.json``)::

    {"ui_fps": draws per second, "strips": strips shown, "seconds": ...,
     "with_window": {"degradations", "xruns", "rtf", ...}, "without_window": {...},
     "gui": {paints per second per spectrogram, GUI thread CPU share, tick times, ...}}

``ui_fps`` counts the bridge's ticks that drew something (the spectrograms scroll or a new
video frame), per second over the whole run; ``gui.spectrogram_paints_per_s`` counts the paint
events Qt actually delivered to each spectrogram. Target: at least 30 fps with four mixer strips
and no more degradations with the window than without.

Usage: ``python benchmarks/ui_bench.py [--seconds 60] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "ui_bench.json"
#: Seconds after which degradations and xruns are counted again (start-up settles first).
WARMUP_S = 5.0


def _options():
    from crn_live.stream.devices import ensure_pulse_null_sink
    from crn_live.stream.session import SessionOptions

    try:
        output = "default" if ensure_pulse_null_sink() else None
    except Exception:  # no PulseAudio / PortAudio: time it without playback
        output = None
    return SessionOptions.demo(output=output), output


def _session_report(session, warm: dict | None) -> dict:
    """The session's numbers; ``warm``: its stats at :data:`WARMUP_S` (None: not reached)."""
    s = session.stats()
    keys = ("backend", "degradations", "recoveries", "level", "xruns", "xruns_by_side", "rtf",
            "hop_ms_median", "hop_ms_p99", "chunks", "seconds", "chunks_per_level",
            "dropped_input_frames")
    report = {k: s.get(k) for k in keys}
    if warm:
        report["after_warmup"] = {"from_s": WARMUP_S,
                                  "degradations": s["degradations"] - warm["degradations"],
                                  "xruns": s["xruns"] - warm["xruns"]}
    return report


def phase_headless(seconds: float) -> dict:
    """The session alone; its frame queue drained every 30 ms like the window would."""
    from crn_live.stream.session import LiveSession

    options, output = _options()
    session = LiveSession(options)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    session.start()
    frames, warm = 0, None
    try:
        while time.perf_counter() - wall0 < seconds:
            time.sleep(0.03)
            frames += len(session.poll_frames())
            session.latest_video()
            if warm is None and time.perf_counter() - wall0 >= WARMUP_S:
                warm = session.stats()
        report = _session_report(session, warm)
    finally:
        session.close()
    wall = time.perf_counter() - wall0
    report.update(output=output, frames_polled=frames,
                  process_cpu_share=round((time.process_time() - cpu0) / wall, 3))
    return report


def phase_window(seconds: float) -> dict:
    """The main window on the session, offscreen; counts the paints of every spectrogram."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from crn_live.ui.app import application
    from crn_live.ui.main_window import MainWindow

    class PaintCounter(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.paints: dict = {}

        def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.Paint:
                self.paints[watched] = self.paints.get(watched, 0) + 1
            return False

    options, output = _options()
    app = application()
    counter = PaintCounter()
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "bench.ini"), QSettings.Format.IniFormat)
        window = MainWindow(options, settings=settings)
        window.resize(1280, 800)
        window.strips.stripAdded.connect(
            lambda strip: strip.spectrogram.viewport().installEventFilter(counter))
        # Qt's own event loop, as in the app: until the session is open, then for ``seconds``
        # (an event loop of its own: QApplication.quit() would close the window too)
        loop = QEventLoop()
        window.sessionOpened.connect(lambda session: loop.quit())
        window.sessionFailed.connect(lambda message: loop.quit())
        give_up = QTimer(singleShot=True, interval=30000)
        give_up.timeout.connect(loop.quit)
        give_up.start()
        window.show()
        loop.exec()
        give_up.stop()
        if window.error is not None or window.session is None:
            raise SystemExit(f"the demo did not open: {window.error}")
        cpu0, gui0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
        warm: dict = {}
        QTimer.singleShot(int(1000 * WARMUP_S), lambda: warm.update(window.session.stats()))
        QTimer.singleShot(int(1000 * seconds), loop.quit)
        loop.exec()
        wall = time.perf_counter() - wall0
        gui_cpu, cpu = time.thread_time() - gui0, time.process_time() - cpu0
        report = _session_report(window.session, warm)
        bridge = window.bridge.stats()
        strips = window.strips.keys()
        paints = [n / wall for n in counter.paints.values()]
        window.close()
        QApplication.processEvents()
    report.update(output=output, process_cpu_share=round(cpu / wall, 3))
    gui = {"bridge": bridge, "strip_keys": [str(k) for k in strips],
           "spectrogram_paints_per_s": round(sum(paints) / len(paints), 2) if paints else 0.0,
           "gui_thread_cpu_share": round(gui_cpu / wall, 3), "platform": app.platformName()}
    return {"session": report, "gui": gui}


def _run_phase(phase: str, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{phase}.json"
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--phase", phase,
                        "--seconds", str(seconds), "--json", str(out)], check=True,
                       cwd=ROOT)
        return json.loads(out.read_text())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="length of each run (60)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write")
    p.add_argument("--phase", choices=("window", "headless"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.phase is not None:
        sys.path.insert(0, str(ROOT))
        result = (phase_window if args.phase == "window" else phase_headless)(args.seconds)
        args.json.write_text(json.dumps(result))
        return 0
    without = _run_phase("headless", args.seconds)
    with_window = _run_phase("window", args.seconds)
    bridge = with_window["gui"]["bridge"]
    result = {"ui_fps": bridge["fps"], "strips": bridge["strips"],
              "ui_seconds": bridge["seconds"],
              "mixer_strips": bridge["strips"] - 1, "seconds": args.seconds,
              "with_window": with_window["session"], "without_window": without,
              "gui": with_window["gui"],
              "degradations_added_by_gui": with_window["session"]["degradations"]
              - without["degradations"],
              "degradations_added_by_gui_after_warmup":
                  with_window["session"].get("after_warmup", {}).get("degradations", 0)
                  - without.get("after_warmup", {}).get("degradations", 0),
              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    w, h = result["with_window"], result["without_window"]
    print(f"UI {result['ui_fps']:.1f} fps with {result['strips']} strips "
          f"(spectrogram paints {result['gui']['spectrogram_paints_per_s']:.1f}/s, GUI thread "
          f"{100 * result['gui']['gui_thread_cpu_share']:.0f}% of a core)")
    for name, r in (("with window", w), ("without window", h)):
        late = r.get("after_warmup", {})
        print(f"  {name:>14}: degradations {r['degradations']} "
              f"({late.get('degradations', '-')} after {WARMUP_S:.0f} s), xruns {r['xruns']}, "
              f"RTF {r['rtf']}, hop median {r['hop_ms_median']} ms, p99 {r['hop_ms_p99']} ms")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
