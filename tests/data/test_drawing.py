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


NEW_CLASSES = ("Clarinet", "Bassoon", "Viola", "Double bass", "Tuba", "Xylophone",
               "Electric bass", "Ukulele", "Bagpipes", "Congas", "Erhu", "Guzheng", "Pipa")


def _sprites(class_name: str, seeds: range = range(6), size: int = 120) -> list[np.ndarray]:
    return [draw_instrument(class_name, np.random.default_rng(s), size) for s in seeds]


def _mean_rgb(sprites: list[np.ndarray]) -> np.ndarray:
    """Mean RGB of the opaque pixels of several sprites."""
    return np.concatenate([s[s[:, :, 3] > 200][:, :3] for s in sprites]).mean(axis=0)


def _aspect(sprites: list[np.ndarray]) -> float:
    """Mean height / width."""
    return float(np.mean([s.shape[0] / s.shape[1] for s in sprites]))


def test_classes_in_order_with_descriptions() -> None:
    assert CLASSES[0] == "Banjo" and CLASSES[14] == "Horn" and len(CLASSES) == 28
    assert CLASSES[15:] == NEW_CLASSES
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


@pytest.mark.parametrize("class_name", NEW_CLASSES)
def test_new_classes_are_reproducible_varied_and_sized(class_name: str) -> None:
    first = draw_instrument(class_name, np.random.default_rng(7), 100)
    assert np.array_equal(first, draw_instrument(class_name, np.random.default_rng(7), 100))
    others = [draw_instrument(class_name, np.random.default_rng(s), 100) for s in (8, 9, 10)]
    assert any(o.shape != first.shape or not np.array_equal(o, first) for o in others)
    for size in (16, 40, 300):
        sprite = draw_instrument(class_name, np.random.default_rng(1), size)
        assert size // 3 <= max(sprite.shape[:2]) <= size + 10, (size, sprite.shape)
        assert (sprite[:, :, 3] > 0).any()


def test_viola_is_darker_and_redder_than_violin() -> None:
    viola, violin = _mean_rgb(_sprites("Viola")), _mean_rgb(_sprites("Violin"))
    assert viola.sum() < 0.85 * violin.sum(), (viola, violin)
    assert viola[1] / viola[0] < 0.9 * violin[1] / violin[0], (viola, violin)
    assert _aspect(_sprites("Viola")) < _aspect(_sprites("Violin"))  # a wider body


def test_double_bass_differs_from_cello() -> None:
    bass, cello = _silhouette("Double bass"), _silhouette("Cello")
    assert (bass & cello).sum() / (bass | cello).sum() < 0.85
    # Sloped shoulders: the upper body is narrower relative to the lower bout.
    def shoulder_ratio(sprite: np.ndarray) -> float:
        alpha = sprite[:, :, 3] > 128
        widths = alpha.sum(axis=1)
        h = len(widths)
        return widths[int(0.42 * h):int(0.5 * h)].max() / widths[int(0.7 * h):int(0.9 * h)].max()
    assert (np.mean([shoulder_ratio(s) for s in _sprites("Double bass")])
            < np.mean([shoulder_ratio(s) for s in _sprites("Cello")]) - 0.1)


def test_electric_bass_differs_from_guitar() -> None:
    bass, guitar = _sprites("Electric bass"), _sprites("Guitar")
    assert _aspect(bass) > 1.05 * _aspect(guitar)  # longer neck, smaller body
    diff = np.abs(_silhouette("Electric bass").astype(int) - _silhouette("Guitar")).mean()
    assert diff > 0.04

    def hole_darkness(sprite: np.ndarray) -> float:
        """Fraction of near-black pixels where a guitar has its sound hole."""
        h, w = sprite.shape[:2]
        patch = sprite[int(0.5 * h):int(0.72 * h), int(0.35 * w):int(0.65 * w)]
        return float(((patch[:, :, :3].max(axis=2) < 30) & (patch[:, :, 3] > 200)).mean())
    assert (np.mean([hole_darkness(s) for s in guitar])
            > np.mean([hole_darkness(s) for s in bass]) + 0.05)


def test_clarinet_differs_from_oboe() -> None:
    clarinet, oboe = _sprites("Clarinet"), _sprites("Oboe")
    assert _aspect(clarinet) < 0.9 * _aspect(oboe)  # a wider bell
    # The clarinet's mouthpiece is black; the oboe ends in a tan reed.
    def top_colour(sprites: list[np.ndarray]) -> float:
        return float(np.mean([s[2:2 + max(3, s.shape[0] // 30)][:, :, :3][
            s[2:2 + max(3, s.shape[0] // 30), :, 3] > 200].mean() for s in sprites]))
    assert top_colour(clarinet) < top_colour(oboe) - 40


def test_ukulele_differs_from_guitar() -> None:
    uke, guitar = _silhouette("Ukulele"), _silhouette("Guitar")
    assert (uke & guitar).sum() / (uke | guitar).sum() < 0.9
    assert not np.array_equal(_mean_rgb(_sprites("Ukulele")).round(),
                              _mean_rgb(_sprites("Guitar")).round())


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
    rows = -(-len(CLASSES) // 3)
    assert sheet.dtype == np.uint8 and sheet.shape == (rows * (cell + label), 3 * cell, 3)
    for k in range(len(CLASSES)):
        row, col = divmod(k, 3)
        drawing = sheet[row * (cell + label) + label:(row + 1) * (cell + label),
                        col * cell:(col + 1) * cell]
        assert (np.abs(drawing.astype(int) - 150).max(axis=2) > 30).sum() > 50, CLASSES[k]
