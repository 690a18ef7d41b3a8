"""Levels in dB relative to full scale, with one floor for silence."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.dsp.levels import FLOOR_DB, power_db, rms_db


def test_full_scale_sine_is_minus_3_01_db() -> None:
    t = np.arange(48000) / 48000
    sine = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    assert rms_db(sine) == pytest.approx(-3.0103, abs=1e-3)
    assert rms_db(0.5 * sine) == pytest.approx(-3.0103 - 6.0206, abs=1e-3)


def test_full_scale_square_is_0_db_whatever_the_shape() -> None:
    square = np.where(np.arange(1000) % 2, 1.0, -1.0)
    assert rms_db(square) == pytest.approx(0.0, abs=1e-9)
    assert rms_db(square.reshape(2, 500)) == pytest.approx(0.0, abs=1e-9)
    assert rms_db([0.1, -0.1]) == pytest.approx(-20.0)


def test_silence_and_empty_input_give_the_floor() -> None:
    assert rms_db(np.zeros(512, np.float32)) == FLOOR_DB == -120.0
    assert rms_db(np.zeros(0, np.float32)) == FLOOR_DB
    assert rms_db(np.full(512, 1e-9, np.float32)) == FLOOR_DB  # -180 dB: floored


def test_squares_in_float64() -> None:
    loud = np.full(4, 1e20, np.float32)  # its square overflows float32
    assert rms_db(loud) == pytest.approx(400.0)


def test_power_db() -> None:
    assert power_db(1.0) == 0.0
    assert power_db(0.01) == pytest.approx(-20.0)
    assert power_db(0.0) == power_db(-1.0) == FLOOR_DB
