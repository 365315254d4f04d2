"""The statistics view against a small hand-made set of drawings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tests.factories import drawing_factory, user_factory
from webapp.drawings.selectors import drawing_statistics

pytestmark = pytest.mark.django_db

DAY_1 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
DAY_2 = datetime(2025, 3, 2, 23, 59, tzinfo=UTC)


@pytest.fixture
def hand_made_set() -> None:
    drawing_factory(digit=3, label=3, created_at=DAY_1)
    drawing_factory(digit=3, label=8, created_at=DAY_1)
    drawing_factory(digit=7, label=7, created_at=DAY_2)
    drawing_factory(digit=1, created_at=DAY_2)
    drawing_factory(digit=None, label=2, created_at=DAY_2)  # labelled, not run yet
    drawing_factory(digit=5, label=5, model_name="dense", model_version=2, created_at=DAY_1)
    drawing_factory(digit=5, label=6, model_name="dense", model_version=2, created_at=DAY_1)


def confusion(*cells: tuple[int, int]) -> list[list[int]]:
    matrix = [[0] * 11 for _ in range(11)]  # the ten digits, then "not a digit"
    for label, digit in cells:
        matrix[label][digit] += 1
    return matrix


def test_statistics_per_model_version_match_the_hand_made_set(hand_made_set):
    cnn_1, cnn_unrun, dense_2 = drawing_statistics()
    assert (cnn_1.model_name, cnn_1.model_version) == ("cnn", 1)
    assert (cnn_1.total, cnn_1.labelled, cnn_1.evaluated, cnn_1.correct) == (4, 3, 3, 2)
    assert cnn_1.accuracy == pytest.approx(2 / 3)
    assert cnn_1.share_labelled == pytest.approx(3 / 4)
    assert cnn_1.confusion == confusion((3, 3), (8, 3), (7, 7))
    assert cnn_1.per_day == [(DAY_1.date(), 2), (DAY_2.date(), 2)]

    assert (cnn_unrun.model_name, cnn_unrun.model_version) == ("cnn", None)
    assert (cnn_unrun.total, cnn_unrun.labelled, cnn_unrun.evaluated) == (1, 1, 0)
    assert cnn_unrun.accuracy is None and cnn_unrun.share_labelled == 1

    assert (dense_2.model_name, dense_2.model_version) == ("dense", 2)
    assert (dense_2.total, dense_2.labelled, dense_2.correct, dense_2.accuracy) == (2, 2, 1, 0.5)
    assert dense_2.confusion == confusion((5, 5), (6, 5))
    assert dense_2.per_day == [(DAY_1.date(), 2)]


def test_statistics_page_shows_accuracy_and_volume_per_model_version(client, hand_made_set):
    client.force_login(user_factory(superuser=True))
    page = client.get(reverse("admin:drawings_drawing_statistics")).content.decode()
    assert "cnn v1" in page and "dense v2" in page and "cnn (not run yet)" in page
    assert "2/3 = 67%" in page and "1/2 = 50%" in page
    assert "4 drawings,\n      3 labelled (75%)" in page
    assert "2025-03-01" in page and "2025-03-02" in page


def test_statistics_page_without_drawings_says_so(client):
    client.force_login(user_factory(superuser=True))
    assert "No drawings yet." in client.get(reverse("admin:drawings_drawing_statistics")).content.decode()
