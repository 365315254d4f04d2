"""Figures of the drawings read from the database when /metrics is scraped: drift against the usual days
(`webapp.drawings.drift`) and accuracy on the labelled drawings per model version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from webapp.drawings.drift import drift_reports_recent
from webapp.drawings.models import Drawing, Kind
from webapp.drawings.selectors import ANSWERED, ANSWERED_RIGHT


class DriftCollector(Collector):
    """`inkwell_drift_*` per model and statistic, and `inkwell_labelled_accuracy` per model version."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        value = GaugeMetricFamily(
            "inkwell_drift_value",
            "A drift statistic over the last 24 hours (window=last_day) and over the usual days (window=usual)",
            labels=["model", "statistic", "window"],
        )
        threshold = GaugeMetricFamily(
            "inkwell_drift_threshold", "How far the last day may be from the usual value", labels=["model", "statistic"]
        )
        warning = GaugeMetricFamily(
            "inkwell_drift_warning", "1 when the last day is further than the threshold", labels=["model", "statistic"]
        )
        accuracy = GaugeMetricFamily(
            "inkwell_labelled_accuracy", "Right answers among labelled single digits", labels=["model", "version"]
        )
        try:
            for report in drift_reports_recent():
                for statistic in report.statistics:
                    labels = [report.model_name, statistic.name]
                    value.add_metric([*labels, "last_day"], statistic.last_day)
                    value.add_metric([*labels, "usual"], statistic.usual)
                    threshold.add_metric(labels, statistic.threshold)
                    warning.add_metric(labels, float(statistic.drifted))
            for row in _labelled_accuracy():
                accuracy.add_metric([row["model_name"], str(row["model_version"])], row["correct"] / row["labelled"])
        except DatabaseError:
            pass  # the database is away: no figures rather than wrong ones
        yield from (value, threshold, warning, accuracy)


def _labelled_accuracy() -> list[dict[str, Any]]:
    """Per model version with labelled answers: how many, and how many were right."""
    rows = (
        Drawing.objects.filter(ANSWERED, kind=Kind.DIGIT, label__isnull=False)
        .order_by()
        .values("model_name", "model_version")
        .annotate(labelled=Count("id"), correct=Count("id", filter=Q(ANSWERED_RIGHT)))
    )
    return [dict(row) for row in rows if row["labelled"]]
