"""What a front end may use of a live session: :class:`SessionProtocol` and its mixer's
:class:`MixerControls`.

The desktop app (``ui/``) talks to a session through these members only, so that
:class:`~crn_live.stream.session.LiveSession` and the fakes of the widget tests stay
interchangeable; ``tests/stream/test_protocol.py`` checks that both define every member with the
same call signature. The GUI reads frames from the queue and the status, sets the mixer, and
never reads engine internals.

This module imports nothing at run time (the session's dataclasses are named for type checkers
only), so the app can import it before the models load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from crn_live.stream.session import SessionOptions, Status, UiFrame, VideoFrame

__all__ = ["MixerControls", "NAMED_ID_BASE", "SessionProtocol", "is_named"]

#: Ids of instruments added by name (:meth:`SessionProtocol.add_instrument`: no box, no picture)
#: start here, far above any track id of a box (the same number as
#: :data:`crn_live.stream.vision.NAMED_ID_BASE`, repeated so that the app need not import the
#: vision module; tests/stream/test_protocol.py checks that the two agree).
NAMED_ID_BASE = 1_000_000


def is_named(key: object) -> bool:
    """Whether a strip key is an instrument added by name (not a box, the mixture or the
    residual)."""
    return isinstance(key, int) and not isinstance(key, bool) and key >= NAMED_ID_BASE


@runtime_checkable
class MixerControls(Protocol):
    """Solo / mute / gain per strip, keyed by track id (int) or ``"residual"``; callable from
    any thread (the GUI's)."""

    def set_solo(self, key: int | str, on: bool) -> None:
        """Solo the strip ``key`` (``on``) or release it."""

    def set_mute(self, key: int | str, on: bool) -> None:
        """Mute the strip ``key`` (``on``) or unmute it."""

    def set_gain(self, key: int | str, gain: float) -> None:
        """The strip's gain (a finite number >= 0; 1.0 leaves it as separated)."""


@runtime_checkable
class SessionProtocol(Protocol):
    """A live session as the app sees it: facts, control, and reading (any thread)."""

    #: What the session was opened with (devices or files, backend, model ...).
    options: SessionOptions
    #: Solo / mute / gain of what is played.
    mixer: MixerControls
    #: The exception that ended the worker, None while it runs or after a clean end.
    error: BaseException | None

    # --- facts --------------------------------------------------------------------------------
    @property
    def classes(self) -> tuple[str, ...]:
        """The instrument classes a manual region may be given."""

    @property
    def running(self) -> bool:
        """True while the worker thread processes audio."""

    @property
    def finished(self) -> bool:
        """True once the worker ended: its file input ran out, or it failed (:attr:`error`)."""

    # --- control ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the devices and the worker (nothing when running)."""

    def stop(self) -> None:
        """Stop the worker and the devices (the session may start again)."""

    def close(self) -> None:
        """Stop, finish the recording (valid files) and release every device."""

    def add_region(self, box: Sequence[float], class_name: str) -> int:
        """A manual region ``(x0, y0, x1, y1)`` in frame pixels; returns its track's id."""

    def add_instrument(self, class_name: str) -> int:
        """An instrument named by its class alone (no box, no picture; any case, synonyms such
        as ``"contrabass"`` accepted): the id of its strip (at least :data:`NAMED_ID_BASE`).
        ``ValueError`` with one line (close matches) for an unknown name, or when the session
        holds as many named instruments as it can separate."""

    def remove_track(self, track_id: int) -> bool:
        """Forget a track or a named instrument; False when no such one is known."""

    def start_recording(self, folder: Path) -> None:
        """Record the played mix and every instrument into ``folder``."""

    def stop_recording(self) -> Path | None:
        """Finish the recording; its folder, or None when none was running."""

    # --- reading (any thread) -----------------------------------------------------------------
    def poll_frames(self) -> list[UiFrame]:
        """Every frame queued since the last poll, oldest first (never blocks)."""

    def latest_video(self) -> VideoFrame | None:
        """The camera frame, with its tracks, of the sound now heard: captured
        ``status().playback_delay_ms`` ago, not the newest; None before the first one."""

    def status(self) -> Status:
        """Backend, latency, processing time, degradations, xruns, recording folder, and how
        long the picture is delayed to match the sound (``playback_delay_ms``)."""
