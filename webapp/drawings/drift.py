"""Drift: whether the last 24 hours' drawings differ from the usual ones more than one day usually differs
from another.

Per model (whichever version answered), three statistics of its single-digit answers are compared: the
share answered "not a digit", the mean confidence, and the answer distribution (its total variation
distance from the usual days' pooled distribution). The *usual* value is the mean over the
`DRIFT_BASELINE_DAYS` 24-hour windows before the last one that have at least `DRIFT_MIN_DRAWINGS`
answers; the last day has drifted on a statistic when it is further from the usual value than
`DRIFT_SIGMAS` standard deviations of those windows, and at least the statistic's floor (`FLOORS`), so
that a very steady site is not warned about noise. Every figure is one GROUP BY over the windows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib import messages
from django.db.models import Case, Count, IntegerField, Sum, Value, When
from django.http import HttpRequest
from django.utils import timezone

from inference.answer import NOT_A_DIGIT
from webapp.drawings.models import Drawing, Kind, Status
from webapp.drawings.selectors import ANSWER_CLASS, ANSWERED

CLASSES = NOT_A_DIGIT + 1
STATISTICS = {
    "not_a_digit_share": 'share answered "not a digit"',
    "mean_confidence": "mean confidence",
    "answer_distance": "distance of the answer distribution from the usual one",
}
# The least difference that counts as drift, whatever the usual spread.
FLOORS = {"not_a_digit_share": 0.02, "mean_confidence": 0.02, "answer_distance": 0.05}
# Seconds a process reuses its last reports for /metrics (a scrape every few seconds reads them once).
METRICS_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class DriftStatistic:
    """One statistic of the last day against its usual value."""

    name: str
    last_day: float
    usual: float
    threshold: float

    @property
    def drifted(self) -> bool:
        """Further from the usual value than the threshold; a distance only when it is larger."""
        difference = self.last_day - self.usual
        return (difference if self.name == "answer_distance" else abs(difference)) > self.threshold

    @property
    def description(self) -> str:
        return STATISTICS[self.name]


@dataclass(frozen=True)
class DriftReport:
    """A model's last day against its usual days; `statistics` is empty (and `reason` says why) when
    there are too few drawings to tell."""

    model_name: str
    answered_last_day: int
    usual_days: int
    statistics: tuple[DriftStatistic, ...]
    reason: str = ""

    @property
    def drifted(self) -> list[DriftStatistic]:
        return [statistic for statistic in self.statistics if statistic.drifted]

    @property
    def warning(self) -> str:
        """One sentence for the admin, empty when nothing drifted."""
        if not self.drifted:
            return ""
        parts = [
            f"{s.description} {_figure(s.name, s.last_day)} (usual {_figure(s.name, s.usual)}, "
            f"allowed +/- {_figure(s.name, s.threshold)})"
            for s in self.drifted
        ]
        drawings = f"the last 24 hours' {self.answered_last_day} drawings"
        return f"Drift on {self.model_name}: {drawings} differ from the usual days: " + "; ".join(parts) + "."


def _figure(name: str, value: float) -> str:
    return f"{value:.3f}" if name == "answer_distance" else f"{value:.1%}"


def drift_settings() -> tuple[int, int, int, float]:
    """DRIFT_BASELINE_DAYS, DRIFT_MIN_DRAWINGS, DRIFT_MIN_BASELINE_DAYS and DRIFT_SIGMAS."""
    return (
        int(settings.DRIFT_BASELINE_DAYS),
        int(settings.DRIFT_MIN_DRAWINGS),
        int(settings.DRIFT_MIN_BASELINE_DAYS),
        float(settings.DRIFT_SIGMAS),
    )


def drift_reports(*, now: datetime | None = None) -> list[DriftReport]:
    """Each model's drift report, by model name."""
    now = now or timezone.now()
    baseline_days, min_drawings, min_baseline_days, sigmas = drift_settings()
    windows = _window_counts(now, baseline_days)
    return [_report(name, windows[name], min_drawings, min_baseline_days, sigmas) for name in sorted(windows)]


def drift_warnings() -> list[str]:
    """The admin's warnings: one sentence per model whose last day drifted."""
    return [report.warning for report in drift_reports() if report.warning]


def drift_warnings_show(request: HttpRequest) -> None:
    """Each model whose last day drifted from its usual days, as a warning on the admin page being shown."""
    for warning in drift_warnings():
        messages.warning(request, warning)


_cached: tuple[float, list[DriftReport]] | None = None


def drift_reports_recent() -> list[DriftReport]:
    """`drift_reports()`, reused for METRICS_CACHE_SECONDS within a process (what /metrics reads)."""
    global _cached
    if _cached is None or time.monotonic() - _cached[0] > METRICS_CACHE_SECONDS:
        _cached = (time.monotonic(), drift_reports())
    return _cached[1]


def drift_reports_forget() -> None:
    """Drop the reports `drift_reports_recent()` keeps, so that the next call reads the database."""
    global _cached
    _cached = None


# Per model, per window (0: the last 24 hours, 1: the 24 before...): answers per class and summed confidence.
WindowCounts = dict[int, tuple[np.ndarray, float]]


def _window_counts(now: datetime, baseline_days: int) -> dict[str, WindowCounts]:
    """One GROUP BY: every model's answers per class and summed confidence in each 24-hour window."""
    edges = [now - timedelta(days=index + 1) for index in range(baseline_days + 1)]
    window = Case(
        *[When(created_at__gt=edge, then=Value(index)) for index, edge in enumerate(edges)],
        output_field=IntegerField(),
    )
    rows = (
        Drawing.objects.filter(ANSWERED, kind=Kind.DIGIT, status=Status.DONE, created_at__gt=edges[-1])
        .filter(created_at__lte=now)
        .order_by()
        .annotate(window=window, answer=ANSWER_CLASS)
        .values("model_name", "window", "answer")
        .annotate(n=Count("id"), confidence=Sum("confidence"))
    )
    counts: dict[str, WindowCounts] = {}
    for row in rows:
        windows = counts.setdefault(row["model_name"], {})
        answers, confidence = windows.get(row["window"], (np.zeros(CLASSES), 0.0))
        answers[row["answer"]] += row["n"]
        windows[row["window"]] = (answers, confidence + float(row["confidence"] or 0.0))
    return counts


def _report(model_name: str, windows: WindowCounts, min_drawings: int, min_days: int, sigmas: float) -> DriftReport:
    """Compare window 0 with the usual windows that have enough answers."""
    last_answers, last_confidence = windows.get(0, (np.zeros(CLASSES), 0.0))
    answered = int(last_answers.sum())
    usual = [windows[index] for index in sorted(windows) if index > 0 and windows[index][0].sum() >= min_drawings]
    if answered < min_drawings:
        reason = f"fewer than {min_drawings} answers in the last 24 hours"
        return DriftReport(model_name, answered, len(usual), (), reason)
    if len(usual) < min_days:
        reason = f"fewer than {min_days} usual days of {min_drawings} answers"
        return DriftReport(model_name, answered, len(usual), (), reason)
    usual_answers = np.stack([answers for answers, _ in usual])
    usual_confidence = np.array([confidence / answers.sum() for answers, confidence in usual])
    pooled = usual_answers.sum(axis=0)
    # Each usual day's distance from the others pooled: how far one ordinary day lies from the rest.
    usual_refused = usual_answers[:, NOT_A_DIGIT] / usual_answers.sum(axis=1)
    usual_distances = np.array([_distance(day, pooled - day) for day in usual_answers])
    values = {
        "not_a_digit_share": (last_answers[NOT_A_DIGIT] / answered, usual_refused),
        "mean_confidence": (last_confidence / answered, usual_confidence),
        "answer_distance": (_distance(last_answers, pooled), usual_distances),
    }
    statistics = tuple(
        DriftStatistic(
            name=name,
            last_day=float(last),
            usual=float(np.mean(days)),
            threshold=float(max(sigmas * np.std(days, ddof=1), FLOORS[name])),
        )
        for name, (last, days) in values.items()
    )
    return DriftReport(model_name, answered, len(usual), statistics)


def _distance(counts: np.ndarray, reference: np.ndarray) -> float:
    """Total variation distance between two answer distributions given as counts (0: the same, 1: disjoint)."""
    return float(0.5 * np.abs(counts / max(counts.sum(), 1) - reference / max(reference.sum(), 1)).sum())
