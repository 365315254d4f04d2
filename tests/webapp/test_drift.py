"""Drift: the last 24 hours against the usual days, in the admin and in /metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import answered_rows, user_factory
from webapp.drawings.drift import drift_reports, drift_reports_forget

pytestmark = pytest.mark.django_db

# Ten usual days of about 60 answers each: mostly digits spread over the classes, a few refused.
USUAL_DAYS = 10


@pytest.fixture(autouse=True)
def small_site(settings):
    settings.DRIFT_MIN_DRAWINGS = 40
    settings.DRIFT_BASELINE_DAYS = 14
    settings.DRIFT_MIN_BASELINE_DAYS = 3
    settings.DRIFT_SIGMAS = 3.0


def usual_days(now, days: int = USUAL_DAYS) -> None:
    for back in range(1, days + 1):
        day = now - timedelta(days=back, hours=1)
        answers = {digit: 5 + (back + digit) % 3 for digit in range(10)}
        answers[10] = 2 + back % 2
        answered_rows(day=day, answers=answers, confidence=0.9 + 0.005 * (back % 3))


def test_a_day_like_the_usual_ones_has_not_drifted():
    now = timezone.now()
    usual_days(now)
    answered_rows(day=now - timedelta(hours=2), answers={**{d: 6 for d in range(10)}, 10: 2}, confidence=0.905)
    (report,) = drift_reports(now=now)
    assert report.model_name == "cnn" and report.usual_days == USUAL_DAYS and report.answered_last_day == 62
    assert [s.name for s in report.statistics] == ["not_a_digit_share", "mean_confidence", "answer_distance"]
    assert report.drifted == [] and report.warning == ""


def test_a_day_of_letters_drifts_on_the_share_refused_and_the_admin_and_metrics_say_so(client):
    now = timezone.now()
    usual_days(now)
    answered_rows(day=now - timedelta(hours=2), answers={**{d: 4 for d in range(10)}, 10: 30}, confidence=0.7)
    (report,) = drift_reports(now=now)
    drifted = {s.name: s for s in report.drifted}
    assert set(drifted) == {"not_a_digit_share", "mean_confidence", "answer_distance"}
    assert drifted["not_a_digit_share"].last_day == pytest.approx(30 / 70)
    assert drifted["not_a_digit_share"].usual == pytest.approx(0.04, abs=0.01)
    assert 'share answered "not a digit" 42.9% (usual' in report.warning

    client.force_login(user_factory(superuser=True))
    for page in ("admin:drawings_drawing_statistics", "admin:drawings_drawing_changelist"):
        html = client.get(reverse(page)).content.decode()
        assert "Drift on cnn: the last 24 hours&#x27; 70 drawings differ from the usual days" in html
    html = client.get(reverse("admin:modelversions_modelversion_changelist")).content.decode()
    assert "70 drawings differ from the usual days" in html

    drift_reports_forget()
    scrape = client.get("/metrics").content.decode()
    assert 'inkwell_drift_warning{model="cnn",statistic="not_a_digit_share"} 1.0' in scrape
    assert 'inkwell_drift_value{model="cnn",statistic="not_a_digit_share",window="last_day"} 0.428' in scrape


def test_answers_all_of_one_digit_drift_on_the_distribution_only():
    now = timezone.now()
    usual_days(now)
    answered_rows(day=now - timedelta(hours=2), answers={7: 58, 10: 2}, confidence=0.905)
    (report,) = drift_reports(now=now)
    assert [s.name for s in report.drifted] == ["answer_distance"]


def test_too_few_drawings_give_no_verdict_and_say_why():
    now = timezone.now()
    usual_days(now, days=2)
    answered_rows(day=now - timedelta(hours=2), answers={10: 50})
    (report,) = drift_reports(now=now)
    assert report.statistics == () and report.drifted == []
    assert report.reason == "fewer than 3 usual days of 40 answers"
    answered_rows(day=now - timedelta(days=5), answers={3: 45})
    answered_rows(day=now - timedelta(days=6), answers={3: 45})
    assert drift_reports(now=now)[0].statistics != ()
