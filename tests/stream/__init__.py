"""Tests of crn_live/stream/, one file per module (sources/ mirrors crn_live/stream/sources/),
on real parts: files, the bundled models and PulseAudio null-sink devices."""
