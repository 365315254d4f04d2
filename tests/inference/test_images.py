"""The shared image helpers: where the ink is, PNG bytes as data URLs, where strokes land."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from inference.errors import ImageTooLarge, InvalidImage
from inference.images import InkBox, data_url_to_bytes, ink_box, place_strokes, png_to_data_url
from inference.preprocess import to_png


def test_ink_box_is_the_smallest_box_around_the_ink_above_the_threshold() -> None:
    ink = np.zeros((10, 12), dtype=np.float32)
    ink[2, 3] = 1.0
    ink[6, 8] = 0.5
    ink[9, 11] = 0.1  # fainter than the threshold: fringe, not ink
    assert ink_box(ink, 0.2) == InkBox(top=2, bottom=6, left=3, right=8)


def test_ink_box_of_an_image_without_ink_is_none() -> None:
    assert ink_box(np.full((5, 5), 0.2, dtype=np.float32), 0.2) is None


def test_crop_keeps_exactly_the_pixels_in_the_box() -> None:
    ink = np.zeros((10, 12), dtype=np.float32)
    ink[2:5, 3:9] = 1.0
    box = ink_box(ink, 0.5)
    assert box is not None
    crop = box.crop(ink)
    assert crop.shape == (3, 6) and crop.min() == 1.0
    assert crop.sum() == ink.sum()


def test_png_bytes_survive_a_round_trip_through_a_data_url() -> None:
    png = to_png(np.eye(28, dtype=np.float32))
    url = png_to_data_url(png)
    assert url.startswith("data:image/png;base64,")
    assert data_url_to_bytes(url, max_bytes=len(png)) == png
    assert png_to_data_url(memoryview(png)) == url


def test_bare_base64_is_read_like_a_data_url() -> None:
    assert data_url_to_bytes(base64.b64encode(b"\x89PNG rest").decode(), max_bytes=100) == b"\x89PNG rest"


def test_data_url_that_is_not_base64_is_an_invalid_image() -> None:
    with pytest.raises(InvalidImage):
        data_url_to_bytes("data:image/png;base64,!!!not-base64!!!", max_bytes=100)


def test_data_url_over_the_limit_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("decoded")

    monkeypatch.setattr(base64, "b64decode", refuse)
    with pytest.raises(ImageTooLarge):
        data_url_to_bytes(png_to_data_url(b"x" * 200), max_bytes=100)


def test_placed_strokes_fill_the_asked_height_centred_on_the_canvas() -> None:
    strokes = [[(0.0, 0.0), (0.25, 1.0)], [(0.5, 0.5)]]
    placed = place_strokes(strokes, canvas_size=400, height_fraction=0.6)
    xs = [x for stroke in placed for x, _ in stroke]
    ys = [y for stroke in placed for _, y in stroke]
    assert max(ys) - min(ys) == pytest.approx(240)
    assert ((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2) == pytest.approx((200, 200))
    assert [len(stroke) for stroke in placed] == [2, 1]


def test_placed_strokes_are_centred_on_a_given_centre() -> None:
    placed = place_strokes([[(0.0, 0.0), (1.0, 1.0)]], canvas_size=400, height_fraction=0.25, centre=(100, 300))
    assert placed == [[pytest.approx((50.0, 250.0)), pytest.approx((150.0, 350.0))]]
