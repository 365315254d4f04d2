"""Bench two checkouts of Inkwell one right after the other on the same machine (docs/performance.md).

    python -m bench.compare --site old=../wt-base --site new=. --clients 1 32 [--model cnn]
        [--postgres postgres://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379/8]
        [--rounds 2] [--interleave 4] [--svg docs/img/bench-clients.svg] [--json var/bench.json]
    python -m bench.compare --site plain=. --site shadow=. --shadow shadow=cnn:7 --clients 1 --rounds 3 ...

For each round and each site: start the checkout's own `python -m webapp.run` (README's run command) on
a free port, wait until it is healthy, warm it up, then run `bench.site` for each number of clients and
account the CPU of every process of the site (web, worker, Redis, database, the rest) and of the load
generator. Without `--postgres` each site uses its embedded default (SQLite in its `var/`, its own
Redis); with it, each site gets a fresh database of its own on that server and `--redis` as its broker
(a different database number per site). Throttles are lifted: every client shares one address. With
`--interleave N` every site runs at once and they take turns, N slices per number of clients.
`--shadow NAME=MODEL:VERSION` runs that version in the shadow on the site NAME (`manage.py shadow_model`
before the warm-up, `--stop` when the site stops): the same checkout benched with and without a shadow.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.site import cpu_seconds, process_children, run

PARTS = {
    "web": ("gunicorn", "uvicorn"),  # the old commit ran gunicorn
    "worker": ("--queues=predict",),
    "redis": ("redis-server", "valkey"),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    children = process_children()
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _part_roots(site_pid: int) -> dict[str, int]:
    """The topmost process of each part (web, worker, redis) below the site's run command."""
    roots: dict[str, int] = {}
    for pid in sorted(_descendants(site_pid)):
        line = _command_line(pid)
        for part, markers in PARTS.items():
            if part not in roots and any(marker in line for marker in markers):
                roots[part] = pid
    return roots


def _own_cpu_seconds() -> float:
    """The load generator's CPU: this process alone (the site is its child, counted by part)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_pid(name: str) -> int | None:
    """The oldest process called `name` (the postmaster, the machine's redis-server)."""
    found = subprocess.run(["pgrep", "-o", "-x", name], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the site exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/health/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} was not healthy within {timeout:.0f} s")


def _fresh_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@dataclass
class Site:
    """One checkout's running site: its run command's process and the processes of each part."""

    name: str
    url: str
    process: subprocess.Popen
    log: Any
    parts: dict[str, int] = field(default_factory=dict)
    external: dict[str, int] = field(default_factory=dict)
    manage: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    shadow: str = ""


def _manage(site: Site, *arguments: str) -> None:
    """Run one of the site's management commands against its database."""
    subprocess.run([*site.manage, *arguments], env=site.env, check=True, capture_output=True)


def site_start(name: str, checkout: Path, args: argparse.Namespace, redis_db: int) -> Site:
    """Start one checkout's `python -m webapp.run` on a free port, wait until it is healthy, warm it up."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "THROTTLE_SUBMIT": "100000000/min", "THROTTLE_READ": "100000000/min"}
    for variable in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(variable, None)
    external = {}
    if args.postgres:
        env["DATABASE_URL"] = _fresh_database(args.postgres, f"inkwell_bench_{name}")
        env["REDIS_URL"] = f"{args.redis.rsplit('/', 1)[0]}/{redis_db}"
        external = {
            part: pid
            for part, pid in (("database", _server_pid("postgres")), ("redis", _server_pid("redis-server")))
            if pid
        }
    python = checkout / ".venv" / "bin" / "python"
    log = open(Path(args.log_dir) / f"site-{name}.log", "wb")
    process = subprocess.Popen(
        [str(python if python.exists() else sys.executable), "-m", "webapp.run"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    manage = [str(python if python.exists() else sys.executable), str(checkout / "manage.py")]
    site = Site(name, url, process, log, external=external, manage=manage, env=env, shadow=args.shadows.get(name, ""))
    try:
        _wait_healthy(url, process)
        if site.shadow:
            _manage(site, "shadow_model", *site.shadow.split(":"))
        run(url, args.model, 40, 4, args.submit_wait)  # warm-up: model calls traced, connections open
        site.parts = _part_roots(process.pid)
    except BaseException:
        site_stop(site)
        raise
    return site


def site_stop(site: Site) -> None:
    if site.shadow:
        _manage(site, "shadow_model", site.shadow.split(":")[0], "--stop")
    os.killpg(site.process.pid, signal.SIGTERM)
    try:
        site.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(site.process.pid, signal.SIGKILL)
        site.process.wait()
    site.log.close()


def site_measure(site: Site, count: int, total: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run `total` drawings from `count` clients against the site; its figures and the CPU of each part."""
    roots = {**site.parts, **site.external}
    before_site = cpu_seconds(site.process.pid)
    before = {part: cpu_seconds(pid) for part, pid in roots.items()}
    before_self = _own_cpu_seconds()
    figures = run(site.url, args.model, total, count, args.submit_wait)
    used = {part: cpu_seconds(pid) - before[part] for part, pid in roots.items()}
    site_total = cpu_seconds(site.process.pid) - before_site
    used["other"] = site_total - sum(seconds for part, seconds in used.items() if part in site.parts)
    used["load generator"] = _own_cpu_seconds() - before_self
    return {"site": site.name, "clients": count, **figures, "cpu_seconds": used}


def row_of(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """One row of the table from one or more measurements of a site at one number of clients."""
    completed = sum(int(m["completed"]) for m in measured)
    seconds = sum(m["seconds"] for m in measured)
    latencies = sorted(latency for m in measured for latency in m["latencies_ms"]) or [float("nan")]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    parts = list(dict.fromkeys(part for m in measured for part in m["cpu_seconds"]))
    cpu_ms = {part: sum(m["cpu_seconds"].get(part, 0.0) for m in measured) * 1000 / max(completed, 1) for part in parts}
    return {
        "site": measured[0]["site"],
        "clients": measured[0]["clients"],
        "completed": completed,
        "errors": sum(int(m["errors"]) for m in measured),
        "per_second": completed / seconds if seconds else 0.0,
        "p50_ms": quantiles[49],
        "p95_ms": quantiles[94],
        "p99_ms": quantiles[98],
        "cpu_ms": cpu_ms,
        "cpu_ms_total": sum(cpu_ms.values()),
        "slices": len(measured),
    }


def bench_site(
    name: str, checkout: Path, clients: list[int], args: argparse.Namespace, redis_db: int
) -> list[dict[str, Any]]:
    """Start one checkout's site, bench it at each number of clients, stop it; one row per count."""
    site = site_start(name, checkout, args, redis_db)
    rows: list[dict[str, Any]] = []
    try:
        for count in clients:
            row = row_of([site_measure(site, count, max(args.n_min, args.per_client * count), args)])
            rows.append(row)
            print(_format_row(row), flush=True)
    finally:
        site_stop(site)
    return rows


def bench_interleaved(sites: list[tuple[str, Path]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run every site at once (each idle but for its turn) and take turns in `--interleave` slices per
    number of clients, so that a machine whose speed drifts over minutes slows each site alike."""
    running: list[Site] = []
    rows: list[dict[str, Any]] = []
    try:
        for index, (name, checkout) in enumerate(sites):
            running.append(site_start(name, checkout, args, redis_db=8 + index))
        for count in args.clients:
            total = max(args.n_min, args.per_client * count)
            measured: dict[str, list[dict[str, Any]]] = {site.name: [] for site in running}
            for _ in range(args.interleave):
                for site in running:
                    measured[site.name].append(site_measure(site, count, -(-total // args.interleave), args))
            for site in running:
                row = row_of(measured[site.name])
                rows.append(row)
                print(_format_row(row), flush=True)
    finally:
        for site in running:
            site_stop(site)
    return rows


def _format_row(row: dict) -> str:
    parts = ", ".join(f"{part} {ms:.2f}" for part, ms in row["cpu_ms"].items())
    return (
        f"| {row['site']} | {row['clients']} | {row['completed']} | {row['errors']} | {row['per_second']:.1f} | "
        f"{row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['cpu_ms_total']:.2f} ({parts}) |"
    )


def clients_svg(rows: list[dict], title: str) -> str:
    """Throughput and p95 against the number of clients (log2 axis), one line per site."""
    width, height, left, top, plot_w, plot_h = 760, 340, 60, 50, 280, 230
    sites = list(dict.fromkeys(row["site"] for row in rows))  # in the order benched: the old one first
    colours = dict(zip(sites, ("#999999", "#1f77b4", "#d62728", "#2ca02c"), strict=False))
    counts = sorted({row["clients"] for row in rows})
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{title}</text>',
    ]
    for panel, (key, label) in enumerate((("per_second", "drawings/s"), ("p95_ms", "p95 ms"))):
        x0 = left + panel * (plot_w + 90)
        top_value = max(row[key] for row in rows) * 1.1 or 1.0
        parts.append(f'<rect x="{x0}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
        parts.append(f'<text x="{x0 + plot_w / 2}" y="{top - 6}" text-anchor="middle">{label}</text>')
        for tick in range(5):
            value = top_value * tick / 4
            y = top + plot_h - plot_h * tick / 4
            parts.append(f'<text x="{x0 - 4}" y="{y + 4}" text-anchor="end">{value:.0f}</text>')
        for index, count in enumerate(counts):
            x = x0 + plot_w * index / max(len(counts) - 1, 1)
            parts.append(f'<text x="{x}" y="{top + plot_h + 14}" text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x0 + plot_w / 2}" y="{top + plot_h + 30}" text-anchor="middle">clients</text>')
        for site in sites:
            points = []
            for row in sorted((row for row in rows if row["site"] == site), key=lambda row: row["clients"]):
                x = x0 + plot_w * counts.index(row["clients"]) / max(len(counts) - 1, 1)
                points.append(f"{x:.1f},{top + plot_h - plot_h * row[key] / top_value:.1f}")
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colours[site]}" stroke-width="2"/>'
            )
    for index, site in enumerate(sites):  # the legend, under the title
        x = width / 2 - 60 + 80 * index
        parts.append(f'<line x1="{x}" y1="26" x2="{x + 18}" y2="26" stroke="{colours[site]}" stroke-width="2"/>')
        parts.append(f'<text x="{x + 22}" y="30">{site}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", action="append", required=True, metavar="NAME=CHECKOUT")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--model", default="cnn", choices=["cnn", "dense", "numpy"])
    parser.add_argument("--per-client", type=int, default=60, help="drawings per client")
    parser.add_argument("--n-min", type=int, default=200, help="at least this many drawings per count")
    parser.add_argument("--submit-wait", type=float, default=10)
    parser.add_argument("--postgres", help="server URL without a database name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8", help="the broker with --postgres")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the sites this many times")
    parser.add_argument(
        "--interleave",
        type=int,
        default=0,
        metavar="SLICES",
        help="run the sites at once and take turns in this many slices per number of clients (each round)",
    )
    parser.add_argument(
        "--shadow",
        action="append",
        default=[],
        metavar="NAME=MODEL:VERSION",
        help="run a version in the shadow on a site",
    )
    parser.add_argument("--svg", help="write the throughput and p95 plot here")
    parser.add_argument("--json", help="write every row here")
    parser.add_argument("--log-dir", default="/tmp")
    args = parser.parse_args()
    args.shadows = dict(item.split("=", 1) for item in args.shadow)
    sites = [(name, Path(path).resolve()) for name, path in (item.split("=", 1) for item in args.site)]
    print("| site | clients | drawings | errors | drawings/s | p50 ms | p95 ms | CPU ms per drawing |")
    print("|---|---|---|---|---|---|---|---|")
    rows: list[dict] = []
    for _ in range(args.rounds):
        if args.interleave:
            rows += bench_interleaved(sites, args)
            continue
        for index, (name, checkout) in enumerate(sites):
            rows += bench_site(name, checkout, args.clients, args, redis_db=8 + index)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.svg:
        database = "PostgreSQL, machine Redis" if args.postgres else "SQLite, embedded Redis"
        best: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in rows:  # with several rounds, each point is the round with the median throughput
            best.setdefault((row["site"], row["clients"]), []).append(row)
        medians = [sorted(group, key=lambda row: row["per_second"])[len(group) // 2] for group in best.values()]
        Path(args.svg).write_text(clients_svg(medians, f"{args.model}: {database}"))


if __name__ == "__main__":
    main()
