"""Test data: canvas-style PNGs made from MNIST digits or drawn strokes."""

from __future__ import annotations

import base64
import io
from functools import lru_cache

import numpy as np
from PIL import Image

from training.data import Mnist, load_mnist
from training.settings import mnist_dir


@lru_cache(maxsize=1)
def mnist() -> Mnist:
    """MNIST from MNIST_DIR (tests never download data)."""
    directory = mnist_dir()
    if directory is None:
        raise RuntimeError("Set MNIST_DIR to the directory with the four MNIST IDX .gz files.")
    return load_mnist(directory)


def canvas_png(
    pixels: np.ndarray,
    *,
    size: int = 400,
    digit_size: int = 240,
    offset: tuple[int, int] = (0, 0),
    transparent: bool = False,
    image_format: str = "PNG",
) -> bytes:
    """Draw a 28x28 white-on-black digit as a browser canvas would export it: dark ink on white."""
    ink = Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="L").resize(
        (digit_size, digit_size), Image.Resampling.BICUBIC
    )
    left = (size - digit_size) // 2 + offset[0]
    top = (size - digit_size) // 2 + offset[1]
    alpha = Image.new("L", (size, size), 0)
    alpha.paste(ink, (left, top))
    if transparent:
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        image.putalpha(alpha)
    else:
        image = Image.new("RGB", (size, size), (255, 255, 255))
        image.paste((0, 0, 0), mask=alpha)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def blank_png(size: int = 400, transparent: bool = True) -> bytes:
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0 if transparent else 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def mnist_test_digit(index: int) -> tuple[bytes, int]:
    """The index-th MNIST test digit as a canvas PNG, with its label."""
    data = mnist()
    return canvas_png(data.x_test[index]), int(data.y_test[index])


def sized_canvas_png(
    pixels: np.ndarray,
    *,
    width: int,
    height: int,
    digit_size: int,
    left: int,
    top: int,
    image_format: str = "PNG",
) -> bytes:
    """Like canvas_png, on a non-square canvas with the digit's box at (left, top)."""
    ink = Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="L").resize(
        (digit_size, digit_size), Image.Resampling.BICUBIC
    )
    alpha = Image.new("L", (width, height), 0)
    alpha.paste(ink, (left, top))
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((0, 0, 0), mask=alpha)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height greyscale pixels, followed by one empty row."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def compressed_huge_png(side: int = 8000) -> bytes:
    """A valid, tiny PNG file that decodes to side x side white pixels (a zip-bomb-style image)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
