"""Start the whole site on one machine and keep it running: `python -m webapp.run` (`make run`).

The checkout's own Redis (if no REDIS_URL is configured), migrations, a prediction worker, a training
worker, one beat and the web server (uvicorn), each supervised: a process that dies is restarted with backoff.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The prediction worker asks the database nothing before each batch (no health-check query): a batch on a
# broken connection is retried, drawing by drawing, on a new one (`webapp/drawings/tasks.py`). On
# PostgreSQL its writes do not wait for the WAL flush (`DB_SYNCHRONOUS_COMMIT`, `webapp/settings.py`).
PREDICT_WORKER_ENV = {"DB_CONN_HEALTH_CHECKS": "false", "DB_SYNCHRONOUS_COMMIT": "false"}


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s: %(levelname)s/run] %(message)s")
    import subprocess

    from django.conf import settings

    from webapp.core.embedded_redis import redis_answers, server_command, wait_for_redis
    from webapp.supervisor import Service, Supervisor
    from webapp.web_server import web_server_command

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    python = sys.executable
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Metrics files of an earlier run's processes would be added to this run's.
    for stale in settings.METRICS_DIR.glob("*.db"):
        stale.unlink()
    services: list[Service] = []
    if "REDIS_URL" not in os.environ and not redis_answers(settings.REDIS_URL):
        redis_service = Service("redis", server_command(settings.REDIS_URL, settings.VAR_DIR / "redis"), ROOT)
        redis_service.start()
        if not wait_for_redis(settings.REDIS_URL, process=redis_service.process):
            raise RuntimeError(f"The embedded Redis server did not start at {settings.REDIS_URL}.")
        services.append(redis_service)
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True)
    subprocess.run([*manage, "sync_models", "-v", "0"], check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True)
    # --quiet: no start-up banner (the supervisor says what it started); "ready." is still logged.
    celery = [python, "-m", "celery", "--quiet", "-A", "worker.app", "worker", f"--loglevel={settings.LOG_LEVEL}"]
    # One thread per process for TensorFlow and NumPy's BLAS: the pool's processes already use every core.
    # TensorFlow's C++ start-up notices go only to a terminal that asked for them (TF_CPP_MIN_LOG_LEVEL=0).
    worker_env = {
        "INFERENCE_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **os.environ,
    }
    concurrency = os.environ.get("WORKER_CONCURRENCY", "2")
    services += [
        # Predictions: one prefork child per core.
        Service(
            "predict-worker",
            [*celery, "--queues=predict", "--hostname=predict@%h", f"--concurrency={concurrency}"],
            ROOT,
            {**PREDICT_WORKER_ENV, **worker_env},
        ),
        # Fine-tuning: its own worker and queue, one job at a time, so it never delays a prediction.
        Service(
            "training-worker",
            [*celery, "--queues=training", "--hostname=training@%h", "--concurrency=1"],
            ROOT,
            {**worker_env, "WORKER_PRELOAD_MODELS": "false"},
        ),
        # The requeue sweep's scheduler: its own process, one at a time (a Redis lock).
        Service("beat", [python, "-m", "worker.beat", str(settings.VAR_DIR / "celerybeat-schedule")], ROOT),
        Service("web", web_server_command(python, host, port, os.environ.get("WEB_WORKERS", "2")), ROOT),
    ]
    supervisor = Supervisor(services)
    try:
        supervisor.start()
        try:
            print(f"\nInkwell is running at http://{host}:{port}/  (Ctrl-C stops it)\n", flush=True)
        except OSError:
            pass  # nobody reads the output any more: the site runs on
        supervisor.run_until_stopped()
    finally:
        supervisor.stop()  # whatever ends the supervisor ends its services: no orphans
    return 0


if __name__ == "__main__":
    sys.exit(main())
