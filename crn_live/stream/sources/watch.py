"""Noticing that an audio device went away mid-run: :class:`DeviceWatch`.

What PortAudio 19.6 (its ALSA host API, through PulseAudio's ALSA plugin ``pulse`` /
``default``) does when the device under a running stream goes away, measured with PulseAudio
16 (tests/stream/sources/test_mic.py and test_output.py repeat each case):

* **the stream is killed** (the device is removed and PulseAudio has nowhere to move it, or
  ``pacmd kill-source-output`` / ``kill-sink-input``): PortAudio prints three ``Expression
  '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'`` lines on stderr, ends its callback
  thread within about 10 ms and calls the stream's *finished* callback; the stream is then
  neither active nor stopped. No callback status flag is set. ``stop()`` / ``close()`` return
  at once.
* **the device is suspended** (``pactl suspend-source``, or ``suspend-sink``, which suspends
  its monitor source too): the callback is simply not called until the device resumes;
  nothing else happens. ``stop()`` then blocks for about 18 s; ``abort()`` returns at once.
* **the device is removed while another exists** (``pactl unload-module``, a USB microphone
  unplugged on a desktop): PulseAudio moves the stream to the default device; PortAudio sees
  nothing and the callbacks go on, now from (or into) another device.

:class:`DeviceWatch` covers the three: the finished callback (a stream that ended without
being stopped), a watchdog on the time of the newest callback (set by the callback itself),
and, for PulseAudio devices, a thread that polls PulseAudio's device list for the source or
sink the stream was opened on.
"""

from __future__ import annotations

import threading
import time

from crn_live.stream.devices import pulse_device, pulse_devices

__all__ = ["PULSE_DEVICES", "DeviceWatch"]

#: PortAudio's names of the ALSA devices that lead to PulseAudio.
PULSE_DEVICES = ("pulse", "default")


class DeviceWatch:
    """Why a device stream stopped delivering: :attr:`lost`, one line, or None.

    The stream's callback sets :attr:`last_call` (``time.monotonic()``) on every call; the
    stream's ``finished_callback`` is :meth:`finished`; the owner calls :meth:`begin` before
    starting the stream and :meth:`end` before stopping it.

    Parameters
    ----------
    kind
        ``"input"`` or ``"output"``.
    device_name
        PortAudio's name of the device; ``pulse`` / ``default`` (with a PulseAudio server
        answering) also watch the PulseAudio source or sink a stream opened now reaches.
    """

    #: No callback for this long while running (after the first one): the device is lost.
    #: (A working device calls back every few to few tens of ms.)
    stall_s = 1.5
    #: The first callback may take this long (an idle PulseAudio null sink sleeps up to 2 s).
    first_call_s = 5.0
    #: How often PulseAudio's device list is read.
    poll_s = 0.5
    #: Checks further apart than this do not judge a stall: the checker itself was held up
    #: (a busy machine, a debugger), and the callbacks probably with it.
    check_gap_s = 0.5

    def __init__(self, kind: str, device_name: str) -> None:
        self.kind = kind
        self.pulse_name = pulse_device(kind) if device_name in PULSE_DEVICES else None
        self.last_call = 0.0
        self._reason: str | None = None
        self._began: float | None = None  # monotonic time of begin(); None when not running
        self._checked_at = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> str | None:
        """Why the device went away (one line, e.g. ``PulseAudio source 'x' was removed``),
        None while it works. Stays set once set."""
        began = self._began
        if self._reason is None and began is not None:
            now = time.monotonic()
            judged = now - self._checked_at <= self.check_gap_s
            self._checked_at = now
            last = self.last_call
            quiet = now - max(last, began)
            if judged and quiet > (self.stall_s if last > began else self.first_call_s):
                self._reason = f"no audio {'from' if self.kind == 'input' else 'taken by'} " \
                               f"it for {quiet:.1f} s: suspended or unplugged"
        return self._reason

    def begin(self) -> None:
        """The stream is about to start: watch it (from now on)."""
        self._checked_at = time.monotonic()
        self._began = self._checked_at
        if self.pulse_name is not None and self._reason is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._poll, name="crn-device-watch",
                                            daemon=True)
            self._thread.start()

    def end(self) -> bool:
        """The stream is about to be stopped: stop watching (its finished callback is ours).
        True when the device is lost or has not called back for a quarter of
        :attr:`stall_s`: abort the stream rather than stop it."""
        began = self._began
        stuck = self.lost is not None or (
            began is not None and time.monotonic() - max(self.last_call, began)
            > self.stall_s / 4)
        self._began = None
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)
        self._thread = None
        return stuck

    def finished(self) -> None:
        """PortAudio's finished callback: a stream that ended while running lost its device."""
        if self._began is not None and self._reason is None:
            self._reason = "its stream stopped: the device failed or was removed"

    def _poll(self) -> None:
        """Thread: read PulseAudio's sources or sinks every :attr:`poll_s` until :meth:`end`;
        a missing ``pulse_name`` is lost (an unanswered read says nothing)."""
        what = "source" if self.kind == "input" else "sink"
        while not self._stopping.wait(self.poll_s):
            names = pulse_devices(self.kind)
            if names is not None and self.pulse_name not in names:
                if self._began is not None and self._reason is None:
                    self._reason = f"PulseAudio {what} '{self.pulse_name}' was removed"
                return
