"""A PulseAudio device of one test's own, to pull away from a running stream: unplugged
(``pactl unload-module``), suspended (``pactl suspend-sink``) or its stream killed (``pacmd
kill-source-output`` / ``kill-sink-input``, what PulseAudio does when it has nowhere to move a
stream). Other processes' devices (the shared ``crn_null``) are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from crn_live.stream.devices import KEEPALIVE_SINK


def pactl(*args: str) -> str:
    done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10,
                          check=False)
    if done.returncode != 0:
        pytest.fail(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


class LoseableDevice:
    """A null sink ``name`` (its monitor ``name.monitor`` is the matching source) kept rendering
    in small blocks by a loopback into the keep-alive sink; this process's default output and
    / or input through ``PULSE_SINK`` / ``PULSE_SOURCE`` (set with ``monkeypatch``).

    ``node="source"``: a null source ``name`` instead (``monitor`` is ``name`` too), a
    microphone that ``pactl suspend-source`` can suspend (a monitor cannot be suspended alone).
    """

    def __init__(self, monkeypatch, route: tuple[str, ...] = ("input", "output"),
                 node: str = "sink") -> None:
        self.name = f"crnlive_loss_{os.getpid()}_{time.monotonic_ns() % 10**6}"
        self.node = node
        self.monitor = f"{self.name}.monitor" if node == "sink" else self.name
        self.modules: list[str] = []
        self.plug()
        if "output" in route:
            monkeypatch.setenv("PULSE_SINK", self.name)
        if "input" in route:
            monkeypatch.setenv("PULSE_SOURCE", self.monitor)

    def plug(self) -> None:
        """(Re)create the sink (or source) under the same name."""
        if self.node == "source":
            self.modules = [pactl("load-module", "module-null-source",
                                  f"source_name={self.name}", "rate=48000")]
            return
        self.modules = [pactl("load-module", "module-null-sink", f"sink_name={self.name}",
                              "rate=48000")]
        self.modules.append(pactl("load-module", "module-loopback", f"source={self.monitor}",
                                  f"sink={KEEPALIVE_SINK}", "latency_msec=20",
                                  "source_dont_move=true", "sink_dont_move=true"))
        # A fresh null sink sleeps its first 2 s block; suspending and resuming restarts it.
        self.suspend(True)
        self.suspend(False)

    def unplug(self) -> float:
        """Unload the sink (and its monitor); the monotonic time it went away."""
        for module in reversed(self.modules):
            subprocess.run(["pactl", "unload-module", module], capture_output=True, timeout=10,
                           check=False)
        self.modules = []
        return time.monotonic()

    def suspend(self, on: bool = True) -> float:
        """Suspend (or resume) the sink and its monitor (or the source); the monotonic time it
        happened."""
        pactl(f"suspend-{self.node}", self.name, "1" if on else "0")
        return time.monotonic()

    def kill_stream(self, kind: str) -> float:
        """Kill this process's stream on the device (``kind`` ``"input"``: recording from the
        monitor; ``"output"``: playing into the sink); the monotonic time it happened."""
        if shutil.which("pacmd") is None:
            pytest.skip("pacmd is not installed: cannot kill a PulseAudio stream")
        what = "source-outputs" if kind == "input" else "sink-inputs"
        node = self.monitor if kind == "input" else self.name
        nodes = pactl("list", "short", "sources" if kind == "input" else "sinks")
        index = next(row.split("\t")[0] for row in nodes.splitlines()
                     if row.split("\t")[1] == node)
        on_node = "Source" if kind == "input" else "Sink"
        ours = [block.split("#", 1)[1].split()[0] for block in pactl("list", what).split("\n\n")
                if f"\t{on_node}: {index}\n" in block
                and f'application.process.id = "{os.getpid()}"' in block]
        assert len(ours) == 1, f"expected one stream of this process on {node}, found {ours}"
        subprocess.run(["pacmd", f"kill-{what[:-1]}", ours[0]], capture_output=True,
                       timeout=10, check=True)
        return time.monotonic()

    def close(self) -> None:
        self.unplug()


@pytest.fixture
def loseable(pulse, monkeypatch):
    """A :class:`LoseableDevice` as this process's default input and output."""
    device = LoseableDevice(monkeypatch)
    yield device
    device.close()
