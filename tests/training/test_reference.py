"""The 2023 reference preprocessing used for comparison: squashed to 20x20, pasted in the middle."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import BlankDrawing
from tests.factories import blank_png, canvas_png, mnist
from training.evaluation.reference import reference_preprocess


@pytest.mark.parametrize("index", [0, 2, 8])
def test_reference_squashes_any_digit_into_the_middle_20x20_box(index: int) -> None:
    pixels = reference_preprocess(canvas_png(mnist().x_test[index], digit_size=200, offset=(-90, 60)))
    assert pixels.shape == (28, 28)
    assert pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0
    box = pixels[4:24, 4:24]
    assert pixels.sum() == pytest.approx(box.sum())
    assert box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any()


def test_reference_rejects_a_blank_drawing() -> None:
    with pytest.raises(BlankDrawing):
        reference_preprocess(blank_png())
