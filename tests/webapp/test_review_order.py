"""The review pages' order: the labels that teach most first (the stored label value), spread over the
answers and the writers, the same in the database as `inference.review_order` says."""

from __future__ import annotations

import numpy as np
import pytest

from inference.review_order import review_order
from tests.factories import drawing_factory, not_a_digit_factory
from webapp.drawings.models import Drawing
from webapp.drawings.selectors import review_grid, review_queue, review_queue_next

pytestmark = pytest.mark.django_db


def spread_drawings(count: int, seed: int = 0) -> list[Drawing]:
    rng = np.random.default_rng(seed)
    drawings = []
    for index in range(count):
        fields = {"label_value": round(float(rng.random() * 2), 6), "client_id": f"browser-{index % 5}"}
        if index % 9 == 0:
            drawings.append(not_a_digit_factory(**fields))
        else:
            drawings.append(
                drawing_factory(digit=int(rng.integers(0, 4)), writer=f"w{index % 3}" * (index % 2), **fields)
            )
    return drawings


def test_a_grid_page_is_the_review_order_of_every_unlabelled_drawing():
    drawings = spread_drawings(120)
    drawing_factory(digit=1, label=1, label_value=2.0)  # labelled: never on the page
    for size in (6, 24):
        page = review_grid(size=size)
        writers = [d.writer or d.client_id for d in drawings]
        expected = review_order(
            np.array([d.label_value for d in drawings]),
            np.array([d.answer_class for d in drawings]),
            writers,
            page=size,
        )
        assert [d.pk for d in page] == [drawings[i].pk for i in expected]


def test_a_page_takes_each_writers_best_before_anyones_second():
    for index in range(6):
        drawing_factory(digit=7, client_id="prolific", label_value=1.9 - index * 0.01)
    quiet = drawing_factory(digit=7, client_id="quiet", label_value=0.2)
    page = review_grid(size=3)
    assert [d.client_id for d in page] == ["prolific", "quiet", "prolific"]
    assert page[1].pk == quiet.pk


def test_the_queue_puts_the_most_valuable_label_first_and_falls_back_to_confidence():
    old = drawing_factory(digit=2, confidence=0.3)  # answered before label values were kept: 1 - 0.3
    high = drawing_factory(digit=2, confidence=0.99, label_value=1.5)
    low = drawing_factory(digit=2, confidence=0.2, label_value=0.1)
    labelled = drawing_factory(digit=2, confidence=0.1, label=2, label_value=2.0)
    queue = list(review_queue())
    assert [d.pk for d in queue] == [high.pk, old.pk, low.pk, labelled.pk]
    assert review_queue_next(drawing=high) == old
    assert review_queue_next(drawing=old) == low
