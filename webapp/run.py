"""Start the whole site on one machine: Redis (if none is configured), migrations, a Celery worker
with its beat, and gunicorn. `python -m webapp.run` (what `make run` calls)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    from django.conf import settings

    from webapp.core.embedded_redis import ensure_redis

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    children: list[subprocess.Popen[bytes]] = []
    if "REDIS_URL" not in os.environ:
        started = ensure_redis(settings.REDIS_URL, settings.VAR_DIR / "redis")
        if started is not None:
            children.append(started)
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True)
    subprocess.run([*manage, "sync_models", "-v", "0"], check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True)
    celery = [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--loglevel=INFO"]
    # One thread per process for TensorFlow and NumPy's BLAS: the pool's processes already use every core.
    worker_env = {"INFERENCE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ}
    # Predictions: one prefork child per core, plus the beat that re-enqueues stranded drawings.
    children.append(
        subprocess.Popen(
            [
                *celery,
                "--queues=predict",
                "--hostname=predict@%h",
                f"--concurrency={os.environ.get('WORKER_CONCURRENCY', '2')}",
                "--beat",
                f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
            ],
            cwd=ROOT,
            env=worker_env,
        )
    )
    # Fine-tuning: its own worker and queue, one job at a time, so it never delays a prediction.
    children.append(
        subprocess.Popen(
            [*celery, "--queues=training", "--hostname=training@%h", "--concurrency=1"],
            cwd=ROOT,
            env={**worker_env, "WORKER_PRELOAD_MODELS": "false"},
        )
    )
    children.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "webapp.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                os.environ.get("WEB_WORKERS", "2"),
                "--threads",
                os.environ.get("WEB_THREADS", "32"),
            ],
            cwd=ROOT,
        )
    )
    print(f"\nInkwell is running at http://{host}:{port}/  (Ctrl-C stops it)\n", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        children[-1].wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            child.wait(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
