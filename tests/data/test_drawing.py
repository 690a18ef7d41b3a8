"""The instrument sprites: one randomised, reproducible drawing per class, with distinct
silhouettes and a transparent border; alpha blending onto a frame; the contact sheet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from crn_live.data.drawing import (CLASS_DESCRIPTIONS, CLASSES, composite_over, contact_sheet,
                                   draw_instrument)


def _silhouette(class_name: str) -> np.ndarray:
    """A class's alpha mask padded to a square and resized to ``(32, 32)`` bool."""
    alpha = draw_instrument(class_name, np.random.default_rng(0), 96)[:, :, 3] > 0
    h, w = alpha.shape
    n = max(h, w)
    square = np.zeros((n, n), np.uint8)
    square[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = alpha
    return cv2.resize(square, (32, 32), interpolation=cv2.INTER_AREA) > 0


def test_classes_in_order_with_descriptions() -> None:
    assert CLASSES[0] == "Banjo" and CLASSES[-1] == "Horn" and len(CLASSES) == 15
    assert set(CLASS_DESCRIPTIONS) == set(CLASSES)


@pytest.mark.parametrize("class_name", CLASSES)
def test_every_class_draws_a_sprite(class_name: str) -> None:
    sprite = draw_instrument(class_name, np.random.default_rng(3), 120)
    assert sprite.dtype == np.uint8 and sprite.ndim == 3 and sprite.shape[2] == 4
    assert max(sprite.shape[:2]) <= 130
    alpha = sprite[:, :, 3]
    assert (alpha > 0).sum() > 200
    assert alpha[0].max() == 0 and alpha[:, 0].max() == 0  # transparent border


def test_different_classes_give_different_silhouettes() -> None:
    masks = {name: _silhouette(name) for name in CLASSES}
    for i, a in enumerate(CLASSES):
        for b in CLASSES[i + 1:]:
            iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
            assert iou < 0.9, (a, b, iou)


def test_sprites_are_randomised_and_reproducible() -> None:
    first = draw_instrument("Guitar", np.random.default_rng(1))
    again = draw_instrument("Guitar", np.random.default_rng(1))
    other = draw_instrument("Guitar", np.random.default_rng(2))
    assert np.array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_unknown_class_and_tiny_sizes_raise() -> None:
    with pytest.raises(ValueError, match="Violin"):
        draw_instrument("Kazoo", np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 16 px"):
        draw_instrument("Violin", np.random.default_rng(0), size=8)


def test_composite_over_blends_by_alpha_in_place() -> None:
    background = np.full((4, 6, 3), 100, np.uint8)
    sprite = np.zeros((2, 2, 4), np.uint8)
    sprite[..., :3] = (200, 0, 50)  # RGB
    sprite[..., 3] = [[255, 0], [128, 255]]
    composite_over(background, sprite, x=3, y=1)
    assert background[1, 3].tolist() == [50, 0, 200]  # opaque: the sprite, as BGR
    assert background[1, 4].tolist() == [100, 100, 100]  # transparent: untouched
    assert background[2, 3].tolist() == [75, 50, 150]  # half: the mean, rounded
    assert background[0].tolist() == [[100, 100, 100]] * 6  # outside the sprite: untouched


def test_contact_sheet_shows_every_class() -> None:
    sheet = contact_sheet(np.random.default_rng(0), size=40, variants=1)
    cell, label = 50, 16
    assert sheet.dtype == np.uint8 and sheet.shape == (5 * (cell + label), 3 * cell, 3)
    for k in range(len(CLASSES)):
        row, col = divmod(k, 3)
        drawing = sheet[row * (cell + label) + label:(row + 1) * (cell + label),
                        col * cell:(col + 1) * cell]
        assert (np.abs(drawing.astype(int) - 150).max(axis=2) > 30).sum() > 50, CLASSES[k]
