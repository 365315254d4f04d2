"""Per-day, per-version figures of the answers, and the statistics page's charts of them."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import answered_rows, user_factory
from webapp.drawings.daily_figures import LATENCY_EDGES_MS, bucket_quantile, daily_figures

pytestmark = pytest.mark.django_db


def test_each_days_figures_per_version_add_up_from_the_rows():
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    answered_rows(day=yesterday, version=7, answers={3: 6, 7: 2}, confidence=0.9, agreement=1.0, total_ms=20.0)
    answered_rows(day=yesterday, version=8, answers={3: 1, 10: 3}, confidence=0.5, agreement=2 / 3, total_ms=40.0)
    answered_rows(day=today, version=8, answers={1: 4}, confidence=0.8, agreement=1.0, total_ms=10.0, labels=[1, 1, 7])
    answered_rows(day=today, version=8, answers={2: 1}, confidence=0.6, agreement=1 / 3, total_ms=1000.0)

    v7, v8_yesterday, v8_today = daily_figures(days=7, until=today + timedelta(hours=1))
    assert (v7.model_version, v7.day, v7.answered) == (7, yesterday.date(), 8)
    assert v7.answers == (0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0) and v7.refused_share == 0
    assert v7.mean_confidence == pytest.approx(0.9) and v7.mean_agreement == pytest.approx(1.0)
    assert v7.accuracy is None
    assert v8_yesterday.refused_share == pytest.approx(3 / 4)
    assert v8_yesterday.mean_confidence == pytest.approx(0.5)
    assert v8_yesterday.p50_ms == pytest.approx(40, rel=0.12) and v8_yesterday.p95_ms == pytest.approx(40, rel=0.12)
    assert (v8_today.answered, v8_today.labelled, v8_today.correct) == (5, 3, 2)
    assert v8_today.accuracy == pytest.approx(2 / 3)
    assert v8_today.mean_agreement == pytest.approx((4 * 1.0 + 1 / 3) / 5)
    assert v8_today.p50_ms == pytest.approx(10, rel=0.12) and v8_today.p95_ms == pytest.approx(1000, rel=0.12)


def test_percentiles_from_the_buckets_are_within_six_percent_of_the_exact_ones():
    latencies = np.random.default_rng(3).lognormal(mean=np.log(30), sigma=1.0, size=5000)
    edges = np.array(LATENCY_EDGES_MS)
    counts = np.bincount(np.searchsorted(edges, latencies), minlength=len(edges) + 1).tolist()
    for quantile in (0.5, 0.95, 0.99):
        assert bucket_quantile(counts, quantile) == pytest.approx(np.quantile(latencies, quantile), rel=0.06)
    assert bucket_quantile([0] * (len(edges) + 1), 0.5) is None


def test_statistics_page_draws_the_days_as_charts_and_no_matrix_of_dots_without_labels(client):
    now = timezone.now()
    for back in range(3):
        answered_rows(day=now - timedelta(days=back), version=8, answers={4: 5, 10: 1}, confidence=0.9, total_ms=15.0)
    client.force_login(user_factory(superuser=True))
    page = client.get(reverse("admin:drawings_drawing_statistics")).content.decode()
    assert 'data-testid="daily-cnn"' in page
    for title in (
        "cnn: drawings answered per day",
        "Share answered &quot;not a digit&quot;",
        "Mean confidence",
        "Committee agreement",
        "Submit to answer, ms (p50, p95)",
        "Answers per class over the days",
    ):
        assert f'aria-label="{title}' in page
    assert 'aria-label="Accuracy on labelled drawings"' not in page  # nothing labelled
    assert "No confusion matrix until reviewers have labelled" in page
    assert "4: 15 (83.3%)" in page  # the answer-share bar's tooltip
