"""Load test a running Inkwell: concurrent clients submit drawings and long-poll until each is done.

    python -m bench.site --url http://127.0.0.1:8000 -n 2000 -c 32 [--model cnn|dense|numpy|all]
        [--submit-wait 10] [--cpu NAME=PID ...]

Prints completed drawings per second and submit-to-done latency (p50/p95/p99) per model. With
`--submit-wait N` the submit asks for the result (`POST /api/drawings/?wait=N`, what the page does; a
server that answers 202 is long-polled as before). With `--cpu`, the CPU time (user + system, from
/proc) of each named process and all its descendants, per completed drawing; the load generator's own
is always counted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from inference.images import png_to_data_url
from inference.strokes import render_strokes, to_canvas_png

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


def _client(url: str, model: str, images: list[str], count: int, results: Results, submit_wait: float) -> None:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=30)
    for index in range(count):
        body = json.dumps({"image": images[index % len(images)], "model": model}).encode()
        started = time.perf_counter()
        try:
            submit = f"/api/drawings/?wait={submit_wait:g}" if submit_wait else "/api/drawings/"
            status, created = _request(connection, "POST", submit, body)
            if status not in (200, 202):
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


def run(url: str, model: str, total: int, concurrency: int, submit_wait: float = 0) -> dict[str, Any]:
    """Submit `total` drawings from `concurrency` clients; returns throughput and latency figures."""
    images = [png_to_data_url(to_canvas_png(render_strokes(strokes))) for strokes in (SEVEN, ONE)]
    results = Results()
    per_client = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    threads = [threading.Thread(target=_client, args=(url, model, images, n, results, submit_wait)) for n in per_client]
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
        "seconds": seconds,
        "latencies_ms": results.latencies_ms,
        "per_second": len(results.latencies_ms) / seconds,
        "p50_ms": quantiles[49],
        "p95_ms": quantiles[94],
        "p99_ms": quantiles[98],
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_children() -> dict[int, list[int]]:
    """Every live process's children (pid -> child pids), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    return children


def cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and every process below it (live ones, plus reaped children's totals)."""
    children, total, stack = process_children(), 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17 of stat; after the name, indexes 11-14)
        total += sum(int(value) for value in fields[11:15]) / CLOCK_TICKS
        stack.extend(children.get(pid, []))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("-n", type=int, default=2000, help="drawings per model")
    parser.add_argument("-c", type=int, default=32, help="concurrent clients")
    parser.add_argument("--model", default="all", choices=["cnn", "dense", "numpy", "all"])
    parser.add_argument("--submit-wait", type=float, default=0, help="ask the submit to wait (seconds)")
    parser.add_argument("--cpu", nargs="*", default=[], metavar="NAME=PID", help="processes to account CPU for")
    args = parser.parse_args()
    roots = {name: int(pid) for name, pid in (item.split("=", 1) for item in args.cpu)}
    roots["load generator"] = os.getpid()
    models = ["cnn", "dense", "numpy"] if args.model == "all" else [args.model]
    print("| model | clients | drawings | errors | drawings/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        before = {name: cpu_seconds(pid) for name, pid in roots.items()}
        figures = run(args.url, model, args.n, args.c, args.submit_wait)
        used = {name: cpu_seconds(pid) - before[name] for name, pid in roots.items()}
        print(
            f"| {model} | {args.c} | {figures['completed']} | {figures['errors']} | {figures['per_second']:.1f} | "
            f"{figures['p50_ms']:.1f} | {figures['p95_ms']:.1f} | {figures['p99_ms']:.1f} |",
            flush=True,
        )
        if figures["completed"]:
            per_drawing = {name: seconds * 1000 / figures["completed"] for name, seconds in used.items()}
            parts = ", ".join(f"{name} {ms:.2f}" for name, ms in per_drawing.items())
            print(f"CPU ms per drawing ({model}): total {sum(per_drawing.values()):.2f} = {parts}", flush=True)


if __name__ == "__main__":
    main()
