"""crn_live.stream.protocol: LiveSession and the widget tests' fakes define every member of the
protocols the app uses, with the protocol's call signatures, so that the two cannot drift apart.

No session is opened: members are compared on the classes (LiveSession names its data
attributes in its class body).
"""

from __future__ import annotations

import inspect
import typing

import pytest

import crn_live.stream.session as session_module
from crn_live.stream.mixer import Mixer
from crn_live.stream import vision
from crn_live.stream.protocol import NAMED_ID_BASE, MixerControls, SessionProtocol, is_named
from crn_live.stream.session import LiveSession
from tests.ui.fakes import FakeSession, RecordingMixer

SESSION_MEMBERS = {"options", "mixer", "error", "classes", "running", "finished", "start",
                   "stop", "close", "add_region", "add_instrument", "remove_track",
                   "start_recording", "stop_recording", "poll_frames", "latest_video", "status"}
MIXER_MEMBERS = {"set_solo", "set_mute", "set_gain"}


def members(protocol: type) -> dict[str, object]:
    """A protocol's public members: data attributes (annotations: ``None``), properties and
    methods (their objects)."""
    found: dict[str, object] = dict.fromkeys(inspect.get_annotations(protocol))
    found.update((name, value) for name, value in vars(protocol).items()
                 if not name.startswith("_") and (callable(value) or isinstance(value, property)))
    return found


def call_signature(function) -> list[tuple]:
    """What calling ``function`` takes: each parameter's name, kind and default."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def check(cls: type, protocol: type, instance: object | None = None) -> None:
    """``cls`` defines every member of ``protocol`` itself (none is left to the protocol's
    empty body) with the protocol's call signature; data attributes are annotated in its class
    body, or set on ``instance``."""
    for name, declared in members(protocol).items():
        own = inspect.getattr_static(cls, name, None)
        if declared is None:  # a data attribute
            assert name in inspect.get_annotations(cls) or hasattr(instance, name), \
                f"{cls.__name__}.{name} is missing"
            continue
        assert own is not None and own is not declared, f"{cls.__name__}.{name} is missing"
        if isinstance(declared, property):
            assert isinstance(own, property) or not callable(own), \
                f"{cls.__name__}.{name} should be a property"
        else:
            assert call_signature(own) == call_signature(declared), \
                f"{cls.__name__}.{name}{inspect.signature(own)} != {inspect.signature(declared)}"


def test_the_protocols_name_what_the_app_uses():
    assert set(members(SessionProtocol)) == SESSION_MEMBERS
    assert set(members(MixerControls)) == MIXER_MEMBERS


@pytest.mark.parametrize("protocol", [SessionProtocol, MixerControls])
def test_the_protocols_annotations_name_real_types(protocol):
    """The session's dataclasses are named for type checkers only: each name must resolve."""
    names = vars(session_module)
    for value in members(protocol).values():
        if value is not None:
            typing.get_type_hints(value.fget if isinstance(value, property) else value,
                                  localns=names)
    typing.get_type_hints(protocol, localns=names)
    hints = typing.get_type_hints(SessionProtocol.poll_frames, localns=names)
    assert hints["return"] == list[session_module.UiFrame]
    assert typing.get_type_hints(LiveSession)["mixer"] is Mixer


def test_live_session_satisfies_the_protocol():
    check(LiveSession, SessionProtocol)
    check(Mixer, MixerControls)
    assert set(inspect.get_annotations(LiveSession)) >= {"options", "mixer", "error"}


def test_the_fake_session_implements_the_protocol():
    fake = FakeSession()
    check(FakeSession, SessionProtocol, fake)
    check(RecordingMixer, MixerControls)
    assert isinstance(fake, SessionProtocol) and isinstance(fake.mixer, MixerControls)


def test_a_drifted_fake_fails_the_check():
    class Drifted(FakeSession):
        def add_region(self, box, class_name, colour=None) -> int:  # an extra parameter
            return 0

    class Missing(RecordingMixer):
        set_gain = MixerControls.set_gain  # the protocol's empty body

    with pytest.raises(AssertionError, match="add_region"):
        check(Drifted, SessionProtocol, Drifted())
    with pytest.raises(AssertionError, match="set_gain"):
        check(Missing, MixerControls)


def test_named_ids_agree_with_the_vision_module():
    """The app tells named instruments' strips by their ids without importing the vision."""
    assert NAMED_ID_BASE == vision.NAMED_ID_BASE
    assert is_named(NAMED_ID_BASE) and is_named(NAMED_ID_BASE + 3)
    assert not any(is_named(k) for k in (1, 999, "mix", "residual", True, None))
