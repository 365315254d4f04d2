"""The 2023 reference app's preprocessing, kept only to measure what the MNIST-style one gains.

It composites onto white, takes greyscale, inverts, crops to every pixel with any ink, squashes the
crop to 20x20 whatever its proportions and pastes it in the geometric middle of a 28x28 field (no
centring by mass, no contrast stretch). Production code uses `inference.preprocess` instead.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from inference.errors import BlankDrawing
from inference.preprocess import BOX, FIELD, ink_from_image, open_image


def reference_preprocess(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes in, the 28x28 float32 array (white ink on black, 0..1) the 2023 app made."""
    ink = ink_from_image(open_image(data))
    greyscale = Image.fromarray(np.round(ink * 255).astype(np.uint8))
    bbox = greyscale.getbbox()
    if bbox is None:
        raise BlankDrawing("The drawing is blank: draw a digit first.")
    squashed = greyscale.crop(bbox).resize((BOX, BOX))
    field = Image.new("L", (FIELD, FIELD), 0)
    field.paste(squashed, ((FIELD - BOX) // 2, (FIELD - BOX) // 2))
    return np.asarray(field, dtype=np.float32) / 255.0
