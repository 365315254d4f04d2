"""Properties of the MNIST-style preprocessing of canvas drawings."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pyspng
import pytest
from PIL import Image, ImageFile

from inference.errors import BlankDrawing, ImageTooLarge, InvalidImage, UnsupportedFormat
from inference.preprocess import (
    MASS_CENTRE,
    MAX_STROKE_WIDTH,
    luminance_from_bytes,
    open_image,
    preprocess,
    read_luminance,
    stroke_width,
    thin_strokes,
)
from tests.factories import (
    blank_png,
    canvas_png,
    compressed_huge_png,
    mnist,
    png_header_only,
    sized_canvas_png,
)

DIGITS = range(0, 40, 4)


def aligned_difference(first: np.ndarray, second: np.ndarray) -> float:
    """Mean absolute difference of two 28x28 images, best over shifts of up to one pixel.

    Centring by mass rounds to whole pixels, so the same digit can land one pixel apart.
    """
    return min(
        float(np.abs(first - np.roll(second, (dy, dx), axis=(0, 1))).mean()) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    total = pixels.sum()
    rows, cols = np.indices(pixels.shape)
    return float((rows * pixels).sum() / total), float((cols * pixels).sum() / total)


@pytest.fixture
def refuse_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any image's pixel data is decoded."""

    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(pyspng, "load", load)


@pytest.mark.parametrize("index", DIGITS)
def test_digit_drawn_small_in_a_corner_matches_digit_drawn_large_in_the_middle(index: int) -> None:
    digit = mnist().x_test[index]
    large = preprocess(canvas_png(digit, digit_size=300)).pixels
    small = preprocess(canvas_png(digit, digit_size=90, offset=(-140, 130))).pixels
    other = preprocess(canvas_png(mnist().x_test[index + 1], digit_size=300)).pixels
    assert aligned_difference(large, small) < 0.05
    assert aligned_difference(large, small) < aligned_difference(large, other) / 2


@pytest.mark.parametrize("index", DIGITS)
def test_centre_of_mass_sits_at_the_centre(index: int) -> None:
    pixels = preprocess(canvas_png(mnist().x_test[index], digit_size=160, offset=(90, -100))).pixels
    row, col = centre_of_mass(pixels)
    # MNIST's own centre of mass averages (14.0, 14.0); whole-pixel shifts leave up to half a pixel.
    assert abs(row - MASS_CENTRE) <= 0.5
    assert abs(col - MASS_CENTRE) <= 0.5


def test_digit_fits_a_20_pixel_box_keeping_its_aspect_ratio() -> None:
    pixels = preprocess(canvas_png(mnist().x_test[2], digit_size=200)).pixels  # a tall, narrow "1"
    rows = np.flatnonzero((pixels > 0.2).any(axis=1))
    cols = np.flatnonzero((pixels > 0.2).any(axis=0))
    assert 18 <= rows[-1] - rows[0] + 1 <= 21
    assert cols[-1] - cols[0] + 1 < 14


@pytest.mark.parametrize("index", DIGITS)
def test_transparent_and_white_backgrounds_give_the_same_result(index: int) -> None:
    digit = mnist().x_test[index]
    transparent = preprocess(canvas_png(digit, transparent=True)).pixels
    white = preprocess(canvas_png(digit, transparent=False)).pixels
    np.testing.assert_allclose(transparent, white, atol=0.02)


def test_jpeg_gives_nearly_the_same_result_as_png() -> None:
    digit = mnist().x_test[0]
    jpeg = preprocess(canvas_png(digit, image_format="JPEG")).pixels
    png = preprocess(canvas_png(digit)).pixels
    assert np.abs(jpeg - png).mean() < 0.02


def test_odd_sized_canvas_gives_nearly_the_same_result_as_a_square_one() -> None:
    digit = mnist().x_test[0]
    odd = preprocess(sized_canvas_png(digit, width=333, height=517, digit_size=200, left=20, top=300)).pixels
    square = preprocess(canvas_png(digit, digit_size=200)).pixels
    assert np.abs(odd - square).mean() < 0.02


def _pillow_luminance(data: bytes) -> np.ndarray:
    """Luminance on white as Pillow alone gives it (the reference for the faster decoding)."""
    rgba = Image.open(io.BytesIO(data)).convert("RGBA")
    return np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("L"))


def _encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "transparent RGBA", "P", "LA"])
def test_every_png_mode_decodes_to_the_luminance_pillow_gives(mode: str) -> None:
    rgba = Image.open(io.BytesIO(canvas_png(mnist().x_test[0], transparent=mode == "transparent RGBA"))).convert("RGBA")
    image = rgba if "RGBA" in mode else rgba.convert(mode)
    data = _encoded(image)
    np.testing.assert_array_equal(np.asarray(luminance_from_bytes(data)), _pillow_luminance(data))


def _png_16_bit_rgb(pixels: np.ndarray) -> bytes:
    """A PNG of 16 bits per channel (Pillow writes none): signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_a_png_of_16_bits_per_channel_is_read_as_pillow_reads_it() -> None:
    rgb = np.asarray(Image.open(io.BytesIO(canvas_png(mnist().x_test[0]))).convert("RGB")).astype(np.uint16) * 257
    data = _png_16_bit_rgb(rgb)
    np.testing.assert_array_equal(np.asarray(luminance_from_bytes(data)), _pillow_luminance(data))
    np.testing.assert_array_equal(preprocess(data).pixels, preprocess(canvas_png(mnist().x_test[0])).pixels)


def test_png_whose_pixels_do_not_match_its_header_raises_invalid_image() -> None:
    small, large = _encoded(Image.new("L", (20, 20), 255)), _encoded(Image.new("L", (40, 20), 255))
    with pytest.raises(InvalidImage):
        read_luminance(open_image(large), small)


def test_output_is_a_float32_28x28_array_in_0_1_and_a_matching_png() -> None:
    processed = preprocess(canvas_png(mnist().x_test[0]))
    assert processed.pixels.shape == (28, 28)
    assert processed.pixels.dtype == np.float32
    assert processed.pixels.min() >= 0.0
    assert processed.pixels.max() == pytest.approx(1.0)
    image = Image.open(io.BytesIO(processed.png))
    assert image.format == "PNG"
    assert image.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(image), np.round(processed.pixels * 255).astype(np.uint8))


@pytest.mark.parametrize("transparent", [True, False])
def test_blank_drawing_raises_blank_drawing(transparent: bool) -> None:
    with pytest.raises(BlankDrawing) as raised:
        preprocess(blank_png(transparent=transparent))
    assert raised.value.code == "blank_drawing"


def test_faint_specks_alone_count_as_blank() -> None:
    specks = np.zeros((28, 28), dtype=np.float32)
    specks[5, 5] = specks[20, 14] = 0.1
    with pytest.raises(BlankDrawing):
        preprocess(canvas_png(specks))


@pytest.mark.parametrize(
    "data",
    [b"", b"definitely not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64],
    ids=["empty", "text", "png-signature-then-zeros"],
)
def test_garbage_bytes_raise_invalid_image(data: bytes) -> None:
    with pytest.raises(InvalidImage) as raised:
        preprocess(data)
    assert raised.value.code == "invalid_image"


def test_truncated_png_raises_invalid_image() -> None:
    data = canvas_png(mnist().x_test[0])
    with pytest.raises(InvalidImage):
        preprocess(data[: len(data) // 2])


@pytest.mark.parametrize("image_format", ["GIF", "BMP"])
def test_other_image_formats_raise_unsupported_format(image_format: str) -> None:
    with pytest.raises(UnsupportedFormat) as raised:
        preprocess(canvas_png(mnist().x_test[0], image_format=image_format))
    assert raised.value.code == "unsupported_format"


@pytest.mark.parametrize(
    "data",
    [png_header_only(100_000, 100_000), png_header_only(5000, 300), compressed_huge_png()],
    ids=["header-claims-10-gigapixels", "header-claims-5000-wide", "compressed-8000x8000"],
)
def test_decompression_bomb_is_refused_quickly_without_decoding(data: bytes, refuse_decoding: None) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge) as raised:
        preprocess(data)
    assert time.perf_counter() - started < 0.5
    assert raised.value.code == "image_too_large"


def test_file_over_the_byte_limit_is_refused(refuse_decoding: None) -> None:
    with pytest.raises(ImageTooLarge):
        preprocess(b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024))


def _stroke(width: int, length: int = 200) -> np.ndarray:
    """A vertical bar of ink, `width` pixels wide, in a field with a margin."""
    ink = np.zeros((length + 20, width + 20), dtype=np.float32)
    ink[10 : 10 + length, 10 : 10 + width] = 1.0
    return ink


@pytest.mark.parametrize("width", [4, 12, 30])
def test_stroke_width_measures_a_bar(width: int) -> None:
    assert stroke_width(_stroke(width, length=20 * width)) == pytest.approx(width, rel=0.1)


def test_strokes_much_wider_than_mnists_are_thinned_to_the_limit() -> None:
    ring = np.zeros((120, 120), dtype=np.float32)
    rows, cols = np.indices(ring.shape)
    radius = np.hypot(rows - 60, cols - 60)
    ring[(radius > 25) & (radius < 50)] = 1.0  # a zero drawn small with a wide pen: 25 px strokes
    thinned = thin_strokes(ring[9:111, 9:111])
    side = max(thinned.shape)
    assert stroke_width(thinned) <= (MAX_STROKE_WIDTH + 0.03) * side
    assert thinned[side // 2, side // 2] == 0.0  # the hole is still open


def test_strokes_within_the_limit_are_left_alone() -> None:
    digit = mnist().x_test[0]
    bar = _stroke(8)[10:-10, 10:-10]
    assert thin_strokes(bar) is bar
    assert stroke_width(digit) <= MAX_STROKE_WIDTH * max(digit.shape) * 2


def test_a_digit_drawn_small_with_a_wide_pen_reads_like_one_drawn_large() -> None:
    from inference.strokes import render_strokes, to_png_bytes

    seven = [[[0.0, 0.0], [0.6, 0.0], [0.35, 1.0]], [[0.15, 0.5], [0.5, 0.5]]]
    large = preprocess(to_png_bytes(render_strokes(seven))).pixels
    small = preprocess(to_png_bytes(render_strokes(seven, height_fraction=0.25))).pixels
    # Measured: 0.074 with thinning, 0.091 without it (the small one's strokes then fill the box).
    assert aligned_difference(large, small) < 0.08
