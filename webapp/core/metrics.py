"""Prometheus metrics of web and worker processes, gathered at /metrics.

Every process writes its own files to `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess
mode, which Celery's prefork children and the web server's processes need); /metrics adds them up, plus what is
read when scraped: queue depth and live workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from webapp.core import heartbeats
from webapp.core.redis_connection import redis_client

# Seconds: a drawing takes milliseconds when the queue is empty, seconds when it is not.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
QUEUES = ("predict", "training")

DRAWINGS_SUBMITTED = Counter("inkwell_drawings_submitted", "Drawings stored and enqueued", ["model"])
SHADOW_PREDICTIONS = Counter(
    "inkwell_shadow_predictions",
    "Answers of shadow versions, by agreement with the serving answer",
    ["model", "version", "agrees"],
)
JOBS = Counter("inkwell_jobs", "Finished prediction jobs", ["model", "version", "status", "error_code"])
SUBMIT_TO_DONE = Histogram(
    "inkwell_job_submit_to_done_seconds",
    "From the submit to the stored answer",
    ["model", "version"],
    buckets=LATENCY_BUCKETS,
)
# What the models answered, for the per-day figures a dashboard draws (the admin's statistics page draws
# the same from the database): answers per class, confidence and the committee's agreement.
ANSWERS = Counter(
    "inkwell_answers", "Single-digit answers by class (0-9 or not_a_digit)", ["model", "version", "answer"]
)
ANSWER_CONFIDENCE = Histogram(
    "inkwell_answer_confidence",
    "Confidence of single-digit answers",
    ["model", "version"],
    buckets=(0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
COMMITTEE_AGREEMENT = Histogram(
    "inkwell_committee_agreement",
    "Share of the committee's members answering as the committee, per single-digit answer",
    ["model", "version"],
    buckets=(0.34, 0.67, 1.0),
)
QUEUE_WAIT = Histogram(
    "inkwell_job_queue_wait_seconds", "From the submit to a worker taking the job", ["model"], buckets=LATENCY_BUCKETS
)
LONG_POLLS_WAITING = Gauge(
    "inkwell_long_polls_waiting", "Requests waiting for a drawing to finish", multiprocess_mode="livesum"
)
PREDICT_BATCH = Histogram(
    "inkwell_predict_batch_drawings", "Drawings a worker process ran as one batch", buckets=(1, 2, 4, 8, 16, 32, 64)
)
MODEL_LOAD = Histogram(
    "inkwell_model_load_seconds", "Loading a model version in a worker process", ["model", "version"]
)


def job_observe(*, model: str, version: int | None, status: str, error_code: str, queue_ms: Any, total_ms: Any) -> None:
    """Count a finished job and its latencies."""
    JOBS.labels(model, str(version or ""), status, error_code or "").inc()
    if total_ms is not None:
        SUBMIT_TO_DONE.labels(model, str(version or "")).observe(total_ms / 1000)
    if queue_ms is not None:
        QUEUE_WAIT.labels(model).observe(queue_ms / 1000)


def answer_observe(*, model: str, version: int | None, answer: str, confidence: Any, agreement: Any) -> None:
    """Count a single digit's answer (`answer`: the digit or "not_a_digit"), its confidence and agreement."""
    labels = (model, str(version or ""))
    ANSWERS.labels(*labels, answer).inc()
    if confidence is not None:
        ANSWER_CONFIDENCE.labels(*labels).observe(confidence)
    if agreement is not None:
        COMMITTEE_AGREEMENT.labels(*labels).observe(agreement)


class ServiceCollector(Collector):
    """Figures read when scraped: messages waiting in each queue, live workers by queue."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("inkwell_queue_depth", "Messages waiting in a queue", labels=["queue"])
        workers = GaugeMetricFamily("inkwell_live_workers", "Workers whose heartbeat is fresh", labels=["queue"])
        try:
            client = redis_client()
            consumers = heartbeats.alive("consumer")
            for queue in QUEUES:
                depth.add_metric([queue], float(client.llen(queue)))  # type: ignore[arg-type]
                workers.add_metric([queue], float(sum(queue in queues for queues in consumers.values())))
        except redis.RedisError:
            pass  # the broker is down: no figures rather than wrong ones
        yield depth
        yield workers


# Collectors of other apps read when scraped (registered from their AppConfig.ready(): core imports no app).
_SCRAPE_COLLECTORS: list[Collector] = []


def scrape_collector_register(collector: Collector) -> None:
    """Add a collector whose figures are read at each scrape of /metrics."""
    _SCRAPE_COLLECTORS.append(collector)


def metrics_exposition() -> bytes:
    """The text exposition of every process's metrics and the scrape-time figures."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(ServiceCollector())
    for collector in _SCRAPE_COLLECTORS:
        registry.register(collector)
    return generate_latest(registry)
