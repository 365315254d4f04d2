"""Per day and per model version, what the served models did with single digits: how many they answered,
what they answered, how sure they were, how often the committee agreed, how fast, and how often they were
right where a reviewer has labelled. The statistics page draws these; the drift check compares them.

Every figure is one GROUP BY over the window, on PostgreSQL and SQLite alike: latency percentiles come
from counts in fine latency buckets (as Prometheus's `histogram_quantile` does), not from every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Avg, Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from inference.answer import NOT_A_DIGIT
from webapp.drawings.models import Drawing, Kind, Status
from webapp.drawings.selectors import ANSWER_CLASS, ANSWERED, ANSWERED_RIGHT

CLASSES = NOT_A_DIGIT + 1
# Upper edges of the latency buckets in ms, 1 ms to 56 s in steps of about 12 %: a percentile read from
# them is within one step of the exact one (and within a few % on a spread of latencies).
LATENCY_EDGES_MS = tuple(round(10 ** (exponent / 20), 3) for exponent in range(0, 96))


@dataclass(frozen=True)
class DayFigures:
    """One model version's single-digit answers on one day (UTC)."""

    model_name: str
    model_version: int | None
    day: date
    answered: int
    # Answers per class: the ten digits, then "not a digit".
    answers: tuple[int, ...]
    mean_confidence: float | None
    mean_agreement: float | None
    p50_ms: float | None
    p95_ms: float | None
    labelled: int
    correct: int

    @property
    def refused_share(self) -> float:
        """The share answered "not a digit"."""
        return self.answers[NOT_A_DIGIT] / self.answered if self.answered else 0.0

    @property
    def accuracy(self) -> float | None:
        """Right answers among the labelled drawings, None without labels."""
        return self.correct / self.labelled if self.labelled else None


Key = tuple[str, int | None, date]


def daily_figures(*, days: int = 30, until: datetime | None = None, model_name: str | None = None) -> list[DayFigures]:
    """The figures of each model version for each of the `days` days up to `until` (now), oldest first."""
    until = until or timezone.now()
    since = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    answered = _answered_between(since, until, model_name)
    key = ("model_name", "model_version", "day")
    totals = answered.values(*key).annotate(
        n=Count("id"),
        confidence=Avg("confidence"),
        agreement=Avg("committee_agreement"),
        labelled=Count("id", filter=Q(label__isnull=False)),
        correct=Count("id", filter=ANSWERED_RIGHT),
    )
    answers: dict[Key, list[int]] = {}
    for row in answered.annotate(answer=ANSWER_CLASS).values(*key, "answer").annotate(n=Count("id")):
        answers.setdefault(_key(row), [0] * CLASSES)[row["answer"]] = row["n"]
    buckets: dict[Key, list[int]] = {}
    timed = answered.filter(total_ms__isnull=False).annotate(bucket=_latency_bucket())
    for row in timed.values(*key, "bucket").annotate(n=Count("id")):
        buckets.setdefault(_key(row), [0] * (len(LATENCY_EDGES_MS) + 1))[row["bucket"]] = row["n"]
    figures = [
        DayFigures(
            model_name=row["model_name"],
            model_version=row["model_version"],
            day=row["day"],
            answered=row["n"],
            answers=tuple(answers.get(_key(row), [0] * CLASSES)),
            mean_confidence=row["confidence"],
            mean_agreement=row["agreement"],
            p50_ms=bucket_quantile(buckets.get(_key(row), []), 0.5),
            p95_ms=bucket_quantile(buckets.get(_key(row), []), 0.95),
            labelled=row["labelled"],
            correct=row["correct"],
        )
        for row in totals
    ]
    return sorted(figures, key=lambda f: (f.model_name, f.model_version or 0, f.day))


def _answered_between(since: datetime, until: datetime, model_name: str | None) -> QuerySet[Drawing]:
    """Answered single digits created in [since, until], with their day."""
    queryset = Drawing.objects.filter(ANSWERED, kind=Kind.DIGIT, status=Status.DONE, created_at__gte=since)
    queryset = queryset.filter(created_at__lte=until)
    if model_name is not None:
        queryset = queryset.filter(model_name=model_name)
    return queryset.order_by().annotate(day=TruncDate("created_at"))


def _key(row: dict) -> Key:
    return row["model_name"], row["model_version"], row["day"]


def _latency_bucket() -> Case:
    """The index of a drawing's latency bucket: the first edge its `total_ms` is under (the last: over all)."""
    whens = [When(total_ms__lte=edge, then=Value(index)) for index, edge in enumerate(LATENCY_EDGES_MS)]
    return Case(*whens, default=Value(len(LATENCY_EDGES_MS)), output_field=IntegerField())


def bucket_quantile(counts: list[int], quantile: float) -> float | None:
    """The `quantile` of latencies counted per bucket of LATENCY_EDGES_MS, interpolated inside its bucket
    (geometrically: the edges are); None without any. Past the last edge it is the last edge."""
    total = sum(counts)
    if not total:
        return None
    rank = quantile * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(LATENCY_EDGES_MS):
                return LATENCY_EDGES_MS[-1]
            upper = LATENCY_EDGES_MS[index]
            lower = LATENCY_EDGES_MS[index - 1] if index else upper / 10 ** (1 / 20)
            position = (rank - seen) / count
            return round(lower * math.pow(upper / lower, position), 3)
        seen += count
    return LATENCY_EDGES_MS[-1]
