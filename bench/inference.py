"""Microseconds per image for decoding and preprocessing a canvas drawing, each model's predict and its
explanation.

An explanation (saliency map and its PNG, `inference.saliency`) is timed in CPU time of this process
(`time.process_time`), the budget being 20 ms of worker CPU per explained drawing.

    python -m bench.inference [--repeats N] [--idle-ms 0 5 20]

Needs no dataset: the drawing is a hand-written "2" rendered the way the page draws it. Each figure is
the median over many timed calls after a warm-up. `--idle-ms` times the preprocessing and the cnn with a
sleep before each call, as a lone client's drawing finds the processes (a machine whose idle CPU wakes
cold makes a call after a sleep slower than the same call back to back).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from inference import registry
from inference.errors import UnknownModel
from inference.preprocess import luminance_from_bytes, luminance_of, open_image, preprocess
from inference.saliency import explain, steps_for
from inference.strokes import render_strokes, to_canvas_png

# A "2" as a pointer would record it: one stroke, normalised coordinates, y down.
# fmt: off
TWO = [
    [
        (0.10, 0.22), (0.16, 0.12), (0.26, 0.05), (0.38, 0.01), (0.50, 0.00), (0.62, 0.03),
        (0.70, 0.10), (0.74, 0.20), (0.72, 0.31), (0.65, 0.42), (0.55, 0.53), (0.44, 0.64),
        (0.32, 0.75), (0.20, 0.86), (0.08, 0.97), (0.06, 1.00), (0.20, 0.99), (0.36, 0.98),
        (0.52, 0.98), (0.68, 0.99), (0.84, 1.00),
    ],
]
# fmt: on
WARMUP = 20
BATCH_SIZES = (1, 64)


def canvas_drawing() -> bytes:
    """A realistic canvas export: a 400x400 RGBA PNG with a digit drawn in 25 px strokes."""
    return to_canvas_png(render_strokes(TWO))


def median_seconds(call: Callable[[], object], repeats: int, idle: float = 0.0) -> float:
    """Median wall time of `call` over `repeats` runs, after a warm-up; with `idle`, each run comes
    after that many seconds of sleep, as a served call comes after the process waited for work."""
    for _ in range(WARMUP):
        call()
    timings = []
    for _ in range(repeats):
        if idle:
            time.sleep(idle)
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def median_cpu_seconds(call: Callable[[], object], repeats: int) -> float:
    """Median CPU time of this process for `call` over `repeats` runs, after a warm-up."""
    for _ in range(WARMUP):
        call()
    timings = []
    for _ in range(repeats):
        started = time.process_time()
        call()
        timings.append(time.process_time() - started)
    return statistics.median(timings)


def idle_run(repeats: int, idle_ms: list[float]) -> list[tuple[str, float, float]]:
    """(what, ms idle before each call, microseconds) for preprocessing and the cnn at batch 1: what a
    call costs when the process slept before it (the single-client case) against back to back."""
    drawing = canvas_drawing()
    model = registry.get_model("cnn")
    pixels = preprocess(drawing).pixels[None]
    calls: dict[str, Callable[[], object]] = {
        "preprocess with thumbnail (as at submit)": lambda: preprocess(drawing, thumbnail_size=56),
        f"cnn v{model.version} predict, batch 1": functools.partial(model.predict, pixels),
    }
    return [
        (what, idle, median_seconds(call, repeats, idle / 1000) * 1e6)
        for idle in idle_ms
        for what, call in calls.items()
    ]


def run(repeats: int) -> list[tuple[str, int, float]]:
    """(what, batch size, microseconds per image) for preprocessing and every trained model."""
    drawing = canvas_drawing()
    timed = {
        "decode to luminance, Pillow alone": lambda: luminance_of(open_image(drawing)),
        "decode to luminance, as served (libspng)": lambda: luminance_from_bytes(drawing),
        "preprocess (400x400 RGBA canvas PNG -> 28x28)": lambda: preprocess(drawing),
    }
    rows = [(what, 1, median_seconds(call, repeats) * 1e6) for what, call in timed.items()]
    pixels = preprocess(drawing).pixels
    for name in registry.MODEL_NAMES:
        try:
            model = registry.get_model(name)
        except UnknownModel:
            continue
        for size in BATCH_SIZES:
            batch = np.repeat(pixels[None], size, axis=0)
            seconds = median_seconds(functools.partial(model.predict, batch), repeats)
            rows.append((f"{name} v{model.version} predict", size, seconds * 1e6 / size))
        digit = int(model.predict(pixels[None])[0].argmax())
        steps = steps_for(name)
        seconds = median_cpu_seconds(functools.partial(explain, model, pixels, digit, steps), max(30, repeats // 10))
        rows.append((f"{name} v{model.version} explain ({steps} IG steps), CPU time", 1, seconds * 1e6))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per figure (median reported)")
    parser.add_argument(
        "--idle-ms",
        type=float,
        nargs="+",
        metavar="MS",
        help="instead: preprocessing and the cnn at batch 1 with this long a sleep before each call (0 = back to back)",
    )
    args = parser.parse_args(argv)
    threads = os.environ.get("INFERENCE_THREADS") or "default"
    print(f"Median of {args.repeats} calls; {os.cpu_count()} CPU cores; INFERENCE_THREADS={threads}")
    print()
    if args.idle_ms:
        print("| step | idle before each call, ms | µs per call |")
        print("|---|---:|---:|")
        for what, idle, micros in idle_run(args.repeats, args.idle_ms):
            print(f"| {what} | {idle:g} | {micros:,.0f} |")
        return
    rows = run(args.repeats)
    print("| step | batch | µs per image |")
    print("|---|---:|---:|")
    for what, size, micros in rows:
        print(f"| {what} | {size} | {micros:,.0f} |")
    missing = [name for name in registry.MODEL_NAMES if not registry.versions(name)]
    if missing:
        print(f"\nNot trained yet (no artifact in {registry.model_dir()}): {', '.join(missing)}")


if __name__ == "__main__":
    main()
