"""Load test a running Inkwell: concurrent clients submit drawings and long-poll until each is done.

    python -m webapp.bench --url http://127.0.0.1:8000 -n 2000 -c 32 [--model cnn|dense|numpy|all]

Prints completed drawings per second and submit-to-done latency (p50/p95/p99) per model.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from inference.images import png_to_data_url
from inference.strokes import render_strokes, to_png_bytes

SEVEN = [[[0.0, 0.0], [0.6, 0.0], [0.35, 1.0]], [[0.15, 0.5], [0.5, 0.5]]]
ONE = [[[0.3, 0.15], [0.5, 0.0], [0.5, 1.0]]]


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"} if body else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def _client(url: str, model: str, images: list[str], count: int, results: Results) -> None:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=30)
    for index in range(count):
        body = json.dumps({"image": images[index % len(images)], "model": model}).encode()
        started = time.perf_counter()
        try:
            status, created = _request(connection, "POST", "/api/drawings/", body)
            if status != 202:
                raise RuntimeError(f"submit answered {status}: {created}")
            path = f"/api/drawings/{created['id']}/?wait=10"
            result = created
            while result.get("status") not in ("done", "failed"):
                status, result = _request(connection, "GET", path)
            if result["status"] != "done":
                raise RuntimeError(f"job failed: {result.get('error')}")
            elapsed = (time.perf_counter() - started) * 1000
            with results.lock:
                results.latencies_ms.append(elapsed)
        except Exception as exc:  # a load test records every failure and carries on
            connection.close()
            connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=30)
            with results.lock:
                results.errors.append(str(exc))


def run(url: str, model: str, total: int, concurrency: int) -> dict[str, float]:
    """Submit `total` drawings from `concurrency` clients; returns throughput and latency figures."""
    images = [png_to_data_url(to_png_bytes(render_strokes(strokes))) for strokes in (SEVEN, ONE)]
    results = Results()
    per_client = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    threads = [threading.Thread(target=_client, args=(url, model, images, n, results)) for n in per_client]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies = sorted(results.latencies_ms) or [float("nan")]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "completed": len(results.latencies_ms),
        "errors": len(results.errors),
        "per_second": len(results.latencies_ms) / seconds,
        "p50_ms": quantiles[49],
        "p95_ms": quantiles[94],
        "p99_ms": quantiles[98],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("-n", type=int, default=2000, help="drawings per model")
    parser.add_argument("-c", type=int, default=32, help="concurrent clients")
    parser.add_argument("--model", default="all", choices=["cnn", "dense", "numpy", "all"])
    args = parser.parse_args()
    models = ["cnn", "dense", "numpy"] if args.model == "all" else [args.model]
    print("| model | clients | drawings | errors | drawings/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        figures = run(args.url, model, args.n, args.c)
        print(
            f"| {model} | {args.c} | {figures['completed']} | {figures['errors']} | {figures['per_second']:.1f} | "
            f"{figures['p50_ms']:.1f} | {figures['p95_ms']:.1f} | {figures['p99_ms']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
