"""Audio devices (PortAudio through ``sounddevice``) and cameras (OpenCV): listing, resolving a
user's device choice, and a PulseAudio null sink for machines without a sound card.

``crn-live --list-devices`` prints :func:`format_device_list`. Tests, CI and the headless demo
call :func:`ensure_pulse_null_sink`: it starts PulseAudio when none runs, adds the null sink
``crn_null`` (what is played into it comes back on its monitor source ``crn_null.monitor``) and
routes this process's default output and input there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Iterator

from crn_live.errors import UserError

#: The null sink ``ensure_pulse_null_sink`` creates; its monitor is the matching source.
NULL_SINK = "crn_null"
NULL_SOURCE = NULL_SINK + ".monitor"
#: A second null sink fed from ``crn_null.monitor`` by a low-latency loopback. It keeps
#: ``crn_null`` rendering in small blocks: an idle null sink sleeps for up to 2 s, and a stream
#: opened on it then gets no callback for that long.
KEEPALIVE_SINK = "crn_keepalive"
_LOOPBACK_ARGS = (f"source={NULL_SOURCE} sink={KEEPALIVE_SINK} latency_msec=20 "
                  "source_dont_move=true sink_dont_move=true")
_LIST_HINT = "list devices with crn-live --list-devices"
#: The measuring bus (:func:`ensure_pulse_probe`): a stereo null sink whose monitor holds, in
#: one stream and sample-aligned, what the microphone hears (left) and what the loudspeaker
#: plays (right).
PROBE_SINK = "crn_probe"
PROBE_SOURCE = PROBE_SINK + ".monitor"
#: "The room": a mono sink onto the bus's left channel (play the scene or a click into it).
ROOM_SINK = "crn_room"
#: The microphone hearing the room: a mono source from the bus's left channel.
ROOM_SOURCE = "crn_room_mic"
#: The loudspeaker: a mono sink onto the bus's right channel.
SPEAKER_SINK = "crn_speaker"


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


def sounddevice_module():
    """The ``sounddevice`` module; UserError (one line) when the PortAudio library is missing."""
    try:
        import sounddevice
    except OSError as exc:
        raise UserError(f"PortAudio is not available ({one_line(exc)}); "
                        "install it with scripts/install.sh") from None
    return sounddevice


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence OpenCV's log and anything native code writes to file descriptor 2 meanwhile.

    OpenCV's capture backends print warnings (``can't open camera by index``) straight to the
    process's stderr; Python-level redirection does not catch them.
    """
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        cv2.utils.logging.setLogLevel(level)


def _default_index(sd, kind: str) -> int | None:
    """Index of PortAudio's default ``kind`` device, or None when there is none."""
    try:
        return int(sd.query_devices(kind=kind)["index"])
    except (sd.PortAudioError, ValueError, KeyError):
        return None


def list_audio_devices() -> list[dict]:
    """Every PortAudio device: ``index``, ``name``, ``inputs``, ``outputs`` (channel counts),
    ``default_samplerate``, ``is_default_input``, ``is_default_output``."""
    sd = sounddevice_module()
    default_in, default_out = _default_index(sd, "input"), _default_index(sd, "output")
    return [{"index": int(d["index"]), "name": str(d["name"]),
             "inputs": int(d["max_input_channels"]), "outputs": int(d["max_output_channels"]),
             "default_samplerate": float(d["default_samplerate"]),
             "is_default_input": int(d["index"]) == default_in,
             "is_default_output": int(d["index"]) == default_out}
            for d in sd.query_devices()]


def list_cameras(max_index: int = 5) -> list[dict]:
    """Camera indices ``0 .. max_index - 1`` that open and deliver a frame: ``index``,
    ``width``, ``height``, ``fps`` (0.0 when the driver does not say). OpenCV's warnings about
    the indices that do not open are suppressed."""
    import cv2

    cameras = []
    with quiet_stderr():
        for index in range(max_index):
            capture = cv2.VideoCapture(index)
            try:
                if not capture.isOpened():
                    continue
                ok, frame = capture.read()
                if not ok or frame is None:
                    continue
                cameras.append({"index": index, "width": int(frame.shape[1]),
                                "height": int(frame.shape[0]),
                                "fps": float(capture.get(cv2.CAP_PROP_FPS) or 0.0)})
            finally:
                capture.release()
    return cameras


def _pactl(*args: str, timeout: float = 5.0) -> subprocess.CompletedProcess | None:
    """Run ``pactl args``; None when pactl is missing or hangs."""
    if shutil.which("pactl") is None:
        return None
    try:
        return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def pulse_info() -> dict | None:
    """The running PulseAudio server's sinks and sources, or None when none answers.

    Keys: ``default_sink``, ``default_source`` (names), ``sinks``, ``sources`` (lists of
    ``{"name", "driver"}``).
    """
    info = _pactl("info")
    if info is None or info.returncode != 0:
        return None
    fields = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    result: dict = {"default_sink": fields.get("Default Sink", "").strip(),
                    "default_source": fields.get("Default Source", "").strip()}
    for kind in ("sinks", "sources"):
        listed = _pactl("list", "short", kind)
        rows = [] if listed is None or listed.returncode != 0 else listed.stdout.splitlines()
        result[kind] = [{"name": cols[1], "driver": cols[2]}
                        for cols in (row.split("\t") for row in rows) if len(cols) >= 3]
    return result


def format_device_list(max_cameras: int = 5) -> str:
    """The text ``crn-live --list-devices`` prints: audio devices, PulseAudio's sinks and
    sources when a server runs, and cameras."""
    lines = ["Audio devices (use the index or part of the name with --mic / --output):"]
    try:
        devices = list_audio_devices()
    except UserError as exc:
        devices = []
        lines.append(f"  {exc}")
    for d in devices:
        marks = [m for m, on in (("default input", d["is_default_input"]),
                                 ("default output", d["is_default_output"])) if on]
        lines.append(f"  [{d['index']}] {d['name']:<28} in {d['inputs']:>2}  out "
                     f"{d['outputs']:>2}  {d['default_samplerate']:.0f} Hz"
                     + (f"  ({', '.join(marks)})" if marks else ""))
    if not devices:
        lines.append("  none (no sound card and no PulseAudio server?)")
    pulse = pulse_info()
    if pulse is not None:
        lines.append("PulseAudio (reached through the 'pulse' / 'default' devices):")
        lines.append(f"  default sink {pulse['default_sink'] or '-'}, "
                     f"default source {pulse['default_source'] or '-'}")
        lines.append("  sinks: " + (", ".join(s["name"] for s in pulse["sinks"]) or "-"))
        lines.append("  sources: " + (", ".join(s["name"] for s in pulse["sources"]) or "-"))
        routed = [f"{var}={os.environ[var]}" for var in ("PULSE_SINK", "PULSE_SOURCE")
                  if os.environ.get(var)]
        if routed:
            lines.append("  this process: " + ", ".join(routed))
    lines.append(f"Cameras (indices 0-{max_cameras - 1}; use the index with --camera):")
    cameras = list_cameras(max_cameras)
    for c in cameras:
        fps = f" @ {c['fps']:.0f} fps" if c["fps"] else ""
        lines.append(f"  [{c['index']}] {c['width']}x{c['height']}{fps}")
    if not cameras:
        lines.append("  none found")
    return "\n".join(lines)


def resolve_audio_device(spec: str | int | None, kind: str = "input") -> int | None:
    """The PortAudio index for a user's device choice, or None for the default device.

    Parameters
    ----------
    spec
        ``None`` / ``"default"`` (PortAudio's default), an index (int or digits), or part of a
        device name (case-insensitive; an exact name wins over a partial one).
    kind
        ``"input"`` or ``"output"``: the device must have channels of that kind.

    Raises
    ------
    UserError
        One line, e.g. ``no microphone 'X': list devices with crn-live --list-devices``.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', got {kind!r}")
    sd = sounddevice_module()
    what = "microphone" if kind == "input" else "audio output"
    error = UserError(f"no {what} '{spec}': {_LIST_HINT}")
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    text = "" if spec is None else str(spec).strip()
    if text.lower() in ("", "default"):
        if _default_index(sd, kind) is None:
            raise UserError(f"no {what} '{spec or 'default'}' (there is no default {kind} "
                            f"device): {_LIST_HINT}")
        return None
    devices = sd.query_devices()
    if isinstance(spec, int) or text.isdigit():
        index = int(text)
        if 0 <= index < len(devices) and devices[index][key] > 0:
            return index
        raise error
    usable = [d for d in devices if d[key] > 0]
    for d in usable:
        if d["name"].lower() == text.lower():
            return int(d["index"])
    for d in usable:
        if text.lower() in d["name"].lower():
            return int(d["index"])
    raise error


def _sink_names() -> list[str]:
    listed = _pactl("list", "short", "sinks")
    if listed is None or listed.returncode != 0:
        return []
    return [row.split("\t")[1] for row in listed.stdout.splitlines() if "\t" in row]


def _start_pulseaudio() -> bool:
    """Start a PulseAudio daemon for this user (root included; it warns and works) and wait
    until it answers."""
    with tempfile.TemporaryFile() as log:
        try:
            # stdout/stderr to a file, not a pipe: the daemon could keep a pipe open forever.
            subprocess.run(["pulseaudio", "--daemonize", "--exit-idle-time=-1",
                            "--disallow-exit"], stdin=subprocess.DEVNULL,
                           stdout=log, stderr=log, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return False
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        info = _pactl("info")
        if info is not None and info.returncode == 0:
            return True
        time.sleep(0.1)
    return False


def _load_module(*args: str) -> None:
    _pactl("load-module", *args)


def ensure_pulse_null_sink() -> bool:
    """Make sure a PulseAudio null sink ``crn_null`` exists and this process plays into it and
    records from its monitor; True when PortAudio then has a default input and output device.

    For tests, CI and the headless demo; idempotent. Steps:

    * start ``pulseaudio --daemonize --exit-idle-time=-1 --disallow-exit`` when ``pactl info``
      fails (as root too: it warns that it is not meant to run as root, and works; it keeps
      running after this process);
    * load ``module-null-sink sink_name=crn_null`` and a keep-alive loopback (see
      :data:`KEEPALIVE_SINK`), then suspend and resume the sink once;
    * route this process with ``PULSE_SINK=crn_null`` and ``PULSE_SOURCE=crn_null.monitor``
      (read by PulseAudio's ALSA plugin behind the ``pulse`` / ``default`` devices); make them
      the server's defaults too when the server has no real sink (a desktop keeps its
      speakers as default);
    * re-initialise PortAudio (``sd._terminate(); sd._initialize()``) so devices that appeared
      meanwhile are seen, only when something changed or a default device is missing: streams
      open at that moment break.
    """
    sd = sounddevice_module()
    changed = False
    if shutil.which("pactl") is not None:
        info = _pactl("info")
        running = info is not None and info.returncode == 0
        if not running and shutil.which("pulseaudio") is not None:
            running = changed = _start_pulseaudio()
        if running:
            sinks = _sink_names()
            if NULL_SINK not in sinks:
                _load_module("module-null-sink", f"sink_name={NULL_SINK}", "rate=48000",
                             f"sink_properties=device.description={NULL_SINK}")
                changed = True
            if KEEPALIVE_SINK not in sinks:
                _load_module("module-null-sink", f"sink_name={KEEPALIVE_SINK}", "rate=48000",
                             f"sink_properties=device.description={KEEPALIVE_SINK}")
            modules = _pactl("list", "short", "modules")
            if modules is not None and f"source={NULL_SOURCE} sink={KEEPALIVE_SINK}" \
                    not in modules.stdout:
                _load_module("module-loopback", *_LOOPBACK_ARGS.split())
                # A fresh null sink sleeps its first 2 s block before it hears of the
                # loopback's low latency; suspending and resuming it restarts its timer.
                _pactl("suspend-sink", NULL_SINK, "1")
                _pactl("suspend-sink", NULL_SINK, "0")
            for var, name in (("PULSE_SINK", NULL_SINK), ("PULSE_SOURCE", NULL_SOURCE)):
                if os.environ.get(var) != name:
                    os.environ[var] = name
                    changed = True
            pulse = pulse_info() or {"sinks": [], "default_sink": ""}
            headless = all(s["driver"].startswith("module-null-sink") for s in pulse["sinks"])
            if headless and pulse["default_sink"] != NULL_SINK:
                _pactl("set-default-sink", NULL_SINK)
                _pactl("set-default-source", NULL_SOURCE)
    if changed or _default_index(sd, "input") is None or _default_index(sd, "output") is None:
        sd._terminate()
        sd._initialize()
    return _default_index(sd, "input") is not None and _default_index(sd, "output") is not None


def ensure_pulse_probe() -> bool:
    """Make sure the measuring bus exists (after :func:`ensure_pulse_null_sink`); True when
    its sinks and source are there. Idempotent; for ``crn-bench`` and the device tests.

    * ``crn_probe``: a stereo null sink; its monitor ``crn_probe.monitor`` is what a
      measurement records (left: the room, right: the loudspeaker);
    * ``crn_room`` and ``crn_speaker``: mono remap sinks onto its left and right channel;
    * ``crn_room_mic``: a mono remap source of its monitor's left channel;
    * a keep-alive loopback of its monitor into ``crn_keepalive`` (as for ``crn_null``).

    One sink renders both channels, so the delay between them is exact to the sample (no two
    devices' buffers to reconcile). Route a stream with :func:`pulse_route`.
    """
    if not ensure_pulse_null_sink():
        return False
    if PROBE_SINK not in _sink_names():
        _load_module("module-null-sink", f"sink_name={PROBE_SINK}", "rate=48000", "channels=2",
                     f"sink_properties=device.description={PROBE_SINK}")
        _load_module("module-loopback", f"source={PROBE_SOURCE}", f"sink={KEEPALIVE_SINK}",
                     "latency_msec=20", "source_dont_move=true", "sink_dont_move=true")
        _pactl("suspend-sink", PROBE_SINK, "1")  # restart its timer (see ensure_pulse_null_sink)
        _pactl("suspend-sink", PROBE_SINK, "0")
    sinks = _sink_names()
    for name, side in ((ROOM_SINK, "front-left"), (SPEAKER_SINK, "front-right")):
        if name not in sinks:
            _load_module("module-remap-sink", f"sink_name={name}", f"master={PROBE_SINK}",
                         "channels=1", f"master_channel_map={side}", "channel_map=mono",
                         "remix=no", f"sink_properties=device.description={name}")
    sources = _pactl("list", "short", "sources")
    if sources is not None and f"\t{ROOM_SOURCE}\t" not in sources.stdout:
        _load_module("module-remap-source", f"source_name={ROOM_SOURCE}",
                     f"master={PROBE_SOURCE}", "channels=1", "master_channel_map=front-left",
                     "channel_map=mono", "remix=no",
                     f"source_properties=device.description={ROOM_SOURCE}")
    sinks = _sink_names()
    sources = _pactl("list", "short", "sources")
    return all(name in sinks for name in (PROBE_SINK, ROOM_SINK, SPEAKER_SINK)) and \
        sources is not None and f"\t{ROOM_SOURCE}\t" in sources.stdout


@contextlib.contextmanager
def pulse_route(sink: str | None = None, source: str | None = None) -> Iterator[None]:
    """Streams opened meanwhile on PortAudio's ``pulse`` / ``default`` device play into
    ``sink`` and record from ``source`` (PulseAudio names; None keeps the current routing).

    PulseAudio's ALSA plugin reads ``PULSE_SINK`` / ``PULSE_SOURCE`` when a stream opens, so
    one process can open streams on several PulseAudio devices; the variables are restored on
    exit (streams already open stay where they are).
    """
    saved = {var: os.environ.get(var) for var in ("PULSE_SINK", "PULSE_SOURCE")}
    try:
        for var, name in (("PULSE_SINK", sink), ("PULSE_SOURCE", source)):
            if name is not None:
                os.environ[var] = name
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def pulse_devices(kind: str) -> set[str] | None:
    """Names of PulseAudio's sources (``kind`` ``"input"``) or sinks (``"output"``) now; None
    when no server answers."""
    listed = _pactl("list", "short", "sources" if kind == "input" else "sinks", timeout=2.0)
    if listed is None or listed.returncode != 0:
        return None
    return {row.split("\t")[1] for row in listed.stdout.splitlines() if "\t" in row}


def pulse_device(kind: str) -> str | None:
    """The PulseAudio source (``kind`` ``"input"``) or sink (``"output"``) that a stream
    opened now on PortAudio's ``pulse`` / ``default`` device reaches: ``PULSE_SOURCE`` /
    ``PULSE_SINK`` when that exists, else the server's default; None when no server answers."""
    names = pulse_devices(kind)
    if not names:
        return None
    routed = os.environ.get("PULSE_SOURCE" if kind == "input" else "PULSE_SINK")
    if routed in names:
        return routed
    info = _pactl("info", timeout=2.0)
    if info is None or info.returncode != 0:
        return None
    key = "Default Source:" if kind == "input" else "Default Sink:"
    default = next((line.split(":", 1)[1].strip() for line in info.stdout.splitlines()
                    if line.startswith(key)), None)
    return default if default in names else None
