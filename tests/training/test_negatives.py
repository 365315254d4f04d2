"""Generated drawings that are not digits, and how training and fine-tuning use them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference import registry
from inference.answer import NOT_A_DIGIT
from inference.preprocess import MASS_CENTRE
from tests.factories import mnist
from training.finetune import FinetuneConfig, LabelledArrays, finetune, mnist_split, rejection_bias
from training.negatives import KINDS, make_negatives, with_negatives
from training.train import train_model


def test_negatives_are_preprocessed_like_drawings_and_reproducible():
    digits = mnist().x_train[:200]

    first = make_negatives(40, digits=digits, seed=3)
    again = make_negatives(40, digits=digits, seed=3)
    other = make_negatives(40, digits=digits, seed=4)

    assert first.shape == (40, 28, 28) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.min() >= 0 and np.allclose(first.max(axis=(1, 2)), 1.0)
    for image in first:  # every one has ink, centred by mass as the site's preprocessing does
        rows, columns = image.sum(axis=1), image.sum(axis=0)
        assert abs(rows @ np.arange(28) / rows.sum() - MASS_CENTRE) < 1.0
        assert abs(columns @ np.arange(28) / columns.sum() - MASS_CENTRE) < 1.0


def test_several_digits_side_by_side_fill_the_width_not_the_height():
    negatives = make_negatives(len(KINDS) * 10, digits=mnist().x_train[:200], seed=5)
    several = negatives[KINDS.index("digits") :: len(KINDS)]

    heights = [(image.max(axis=1) > 0.2).sum() for image in several]
    widths = [(image.max(axis=0) > 0.2).sum() for image in several]
    # The longer side is fitted to 20 pixels: most often the row's width (two ones can stand taller).
    assert np.median(widths) >= 19 and np.median(heights) < 14, (widths, heights)


def test_negatives_join_the_digits_as_the_eleventh_class():
    x, y = np.zeros((3, 28, 28), np.float32), np.array([1, 2, 3])

    all_x, all_y = with_negatives(x, y, np.ones((2, 28, 28), np.float32))

    assert all_x.shape == (5, 28, 28)
    assert all_y.tolist() == [1, 2, 3, NOT_A_DIGIT, NOT_A_DIGIT]


@pytest.mark.parametrize(("negatives", "add_not_a_digit"), [(75, True), (0, True), (0, False)])
def test_fine_tuning_learns_not_a_digit_labels_unless_told_not_to(
    negatives: int, add_not_a_digit: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    data = mnist()
    train_model("numpy", mnist=data, epochs=1, limit=300, negatives=negatives)
    letters = make_negatives(40, digits=data.x_train[:100], seed=9)
    labels = np.concatenate([data.y_test[:60], np.full(40, NOT_A_DIGIT)])
    images = np.concatenate([data.x_test[:60], letters])

    result = finetune(
        "numpy",
        base_version=1,
        new_version=2,
        train=LabelledArrays(images[::2], labels[::2]),
        holdout=LabelledArrays(images[1::2], labels[1::2]),
        mnist=data,
        config=FinetuneConfig(epochs=1, add_not_a_digit=add_not_a_digit),
    )

    card = registry.read_card("numpy", 2)
    if negatives or add_not_a_digit:
        assert card["data"]["website_holdout"] == 50  # the negatives are held out too ...
        assert card["training"]["negative_replay"] > 0  # ... and generated ones replayed
        assert 0 <= result.after["holdout_negatives_rejected"] <= 1
        assert result.after["holdout_digits_rejected"] <= 0.005 + 1 / 30  # the bias is set on these digits
        held_out, replayed = mnist_split(len(data.x_train), FinetuneConfig().mnist_held_out, seed=7)
        assert card["training"]["mnist_held_out_for_rejection"] == len(held_out)
        assert 0 < len(held_out) <= len(data.x_train) // 10 and not set(held_out) & set(replayed)
        mnist_answers = registry.get_model("numpy", 2).predict(data.x_train[held_out]).argmax(axis=1)
        # ... and on MNIST digits not replayed
        assert np.mean(mnist_answers == NOT_A_DIGIT) <= 0.005 + 1 / len(held_out)
        assert card["training"]["not_a_digit_bias_shift"] <= 0
        assert card["training"]["parent_classes"] == (11 if negatives else 10)
        assert card["training"]["classes"] == 11 and card["architecture"][-1] == "Dense(11, softmax)"
        if not negatives:  # the ten-class parent is measured as it is: every held-out negative wrong
            assert result.before["holdout_negatives_rejected"] == 0 and result.before["holdout_accuracy"] <= 0.6
    else:
        assert card["data"]["website_holdout"] == 30  # the digits only
        assert card["training"]["negative_replay"] == 0 and card["training"]["classes"] == 10
        assert card["training"]["mnist_held_out_for_rejection"] == 0  # no knob: every MNIST digit replayed
        assert "holdout_negatives_rejected" not in result.after


def test_the_rejection_bias_rejects_at_most_the_share_asked_and_is_never_raised():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1000, 11)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    shift = rejection_bias(probabilities, 0.01)

    shifted = logits.copy()
    shifted[:, NOT_A_DIGIT] -= shift
    assert np.mean(shifted.argmax(axis=1) == NOT_A_DIGIT) <= 0.01
    assert np.mean(shifted.argmax(axis=1) == NOT_A_DIGIT) >= 0.009  # no lower than it has to be
    confident = np.eye(11)[rng.integers(0, 10, 50)] * 0.98 + 0.002  # digits nobody rejects
    assert rejection_bias(confident, 0.01) == 0.0


def test_a_wider_pen_draws_the_same_negatives_with_more_ink():
    digits = mnist().x_train[:100]

    thin = make_negatives(40, digits=digits, seed=3, pen_widths=(5.0, 5.0))
    wide = make_negatives(40, digits=digits, seed=3, pen_widths=(20.0, 20.0))

    drawn = [i for i in range(40) if KINDS[i % len(KINDS)] != "digits"]  # MNIST's digits keep their pen
    assert all((wide[i] > 0.5).sum() > (thin[i] > 0.5).sum() for i in drawn)
    np.testing.assert_array_equal(
        wide[[i for i in range(40) if i not in drawn]], thin[[i for i in range(40) if i not in drawn]]
    )
