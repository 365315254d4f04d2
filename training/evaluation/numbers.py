"""How well whole numbers are read, and what finding their digits costs.

    python -m training.evaluation.numbers [--model all] [--version N] [--count 500] [--seed 15] [--cost]

Numbers of 2 to 5 digits are composed from unipen-dev (`UNIPEN_DIR`), from the writers fine-tuning holds
out only (`training.calibration.HOLDOUT_WRITERS`): one writer per number, each digit that writer's, all
drawn at one height (45-70 % of the 400 px canvas, each digit within 10 % of it, its baseline within
12 px), the ink of neighbours `GAP` apart (a share of the height), and `TOUCHING` of the pairs drawn with
the boxes of their inks overlapping by up to 0.7 of a stroke width, so that they often touch. They are
drawn as the page's number mode draws (`NUMBER_CANVAS`, 25 px black round-capped lines) and read twice:
from the image alone (an API client) and with the pen strokes (the page sends them). The same digits
drawn alone on the 400x400 canvas give the single-digit accuracy to compare with. A few unipen-dev
samples hold two glyphs side by side (one writer's "0"s written "00"): they are left out (`two_glyphs`).
`--cost` times the worker's CPU for finding the digits of the five-digit drawings (`inference.segment`)
and for joining a 4 drawn in two pieces and cutting touching digits from the image (`read_digits`, with
the cnn unless `--model` names another), and the spread of `read_digits` from the image over every
number.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference import registry
from inference.answer import NOT_A_DIGIT
from inference.committee import newest_committee
from inference.numbers import read_digits
from inference.preprocess import ink_from_image, open_image, preprocess, preprocess_pixels
from inference.segment import segment_digits
from inference.strokes import STROKE_WIDTH, draw_strokes, render_strokes, to_png_bytes
from training.calibration import HOLDOUT_WRITERS
from training.data import load_unipen

SEED = 15
NUMBER_CANVAS = (1200, 400)
MARGIN = 40
HEIGHT = (0.45, 0.7)
GAP = (0.08, 0.35)
TOUCHING = 0.15
# Touching pairs: the gap between the boxes of their pen lines, in stroke widths (below 1, the inks' boxes overlap).
TOUCHING_GAP = (0.3, 1.0)
# A sample whose strokes fall into column groups this share of its height apart, two of them at least
# GLYPH_WIDTH of it wide, is two glyphs (not a 4 with its upright apart, nor a 5 with its bar apart).
GLYPH_GAP = 0.1
GLYPH_WIDTH = 0.6

PixelStroke = list[tuple[float, float]]


@dataclass(frozen=True)
class DrawnNumber:
    """A composed number: its digits, the page's PNG export and pen strokes (canvas pixels)."""

    digits: str
    png: bytes
    strokes: list[PixelStroke]
    singles: list[bytes]


def _scaled(strokes: list[Any], height: float, x: float, y: float) -> list[PixelStroke]:
    """Normalised strokes scaled to `height` px of ink, their box's top-left corner at (x, y)."""
    xs = [p[0] for s in strokes for p in s]
    ys = [p[1] for s in strokes for p in s]
    scale = height / max(max(ys) - min(ys), 1e-6)
    return [[((p[0] - min(xs)) * scale + x, (p[1] - min(ys)) * scale + y) for p in s] for s in strokes]


def _gap(height: float, rng: np.random.Generator) -> float:
    """Pixels between the boxes of two neighbours' pen lines (before a long number is drawn smaller)."""
    if rng.random() < TOUCHING:
        return float(rng.uniform(*TOUCHING_GAP) * STROKE_WIDTH)
    return float(rng.uniform(*GAP) * height + STROKE_WIDTH)


def two_glyphs(strokes: list[Any]) -> bool:
    """Whether a sample's strokes draw two full-width glyphs side by side (a "0" written "00")."""
    spans = sorted((min(p[0] for p in s), max(p[0] for p in s)) for s in strokes if len(s))
    ys = [p[1] for s in strokes for p in s]
    height = max(ys) - min(ys)
    groups: list[list[float]] = []
    for left, right in spans:
        if groups and left <= groups[-1][1] + GLYPH_GAP * height:
            groups[-1][1] = max(groups[-1][1], right)
        else:
            groups.append([left, right])
    return sum(right - left >= GLYPH_WIDTH * height for left, right in groups) >= 2


def compose_number(samples: list[dict[str, Any]], rng: np.random.Generator) -> DrawnNumber:
    """Draw `samples` (one writer's digits) left to right as one number on the number canvas."""
    height = rng.uniform(*HEIGHT) * NUMBER_CANVAS[1]
    heights = [height * rng.uniform(0.9, 1.1) for _ in samples]
    widths = []
    for sample, h in zip(samples, heights, strict=True):
        xs = [p[0] for s in sample["strokes"] for p in s]
        ys = [p[1] for s in sample["strokes"] for p in s]
        widths.append((max(xs) - min(xs)) / max(max(ys) - min(ys), 1e-6) * h)
    gaps = [_gap(height, rng) for _ in samples[1:]]
    total = sum(widths) + sum(gaps)
    fit = min(1.0, (NUMBER_CANVAS[0] - 2 * MARGIN) / total)  # a long number is drawn smaller, as people do
    x = (NUMBER_CANVAS[0] - total * fit) / 2
    strokes: list[PixelStroke] = []
    for i, (sample, h, w) in enumerate(zip(samples, heights, widths, strict=True)):
        top = (NUMBER_CANVAS[1] - height * fit) / 2 + (height - h) * fit + rng.uniform(-12, 12)
        strokes += _scaled(sample["strokes"], h * fit, x, top)
        x += (w + (gaps[i] if i < len(gaps) else 0)) * fit
    png = to_png_bytes(draw_strokes(strokes, size=NUMBER_CANVAS))
    singles = [to_png_bytes(render_strokes(sample["strokes"])) for sample in samples]
    return DrawnNumber("".join(str(s["label"]) for s in samples), png, strokes, singles)


def compose_numbers(count: int, seed: int = SEED) -> list[DrawnNumber]:
    """`count` numbers of 2-5 digits, each from one of the held-out unipen-dev writers, reproducibly from
    `seed`."""
    by_writer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sample in load_unipen():
        writer = f"{sample['institution']}/{sample['writer']}"
        if writer in HOLDOUT_WRITERS and not two_glyphs(sample["strokes"]):
            by_writer[writer].append(sample)
    writers = sorted(by_writer)
    rng = np.random.default_rng(seed)
    numbers = []
    for _ in range(count):
        pool = by_writer[writers[rng.integers(len(writers))]]
        picks = rng.choice(len(pool), size=int(rng.integers(2, 6)), replace=False)
        numbers.append(compose_number([pool[i] for i in picks], rng))
    return numbers


def read_numbers(numbers: list[DrawnNumber], model: Any, *, with_strokes: bool) -> dict[str, float]:
    """Whole-number accuracy and per-digit accuracy of the answers as the worker gives them (a part the
    model says is not a digit is left out of the number); per digit, each number costs the digits it
    would take to edit its answer into the truth (a digit missing, extra or wrong costs one, as a
    rejected or misread single digit does), at most all of its digits. Also the share split into the
    right count of parts, and per-digit accuracy within those, part by part."""
    whole = errors = digits_total = counted = counted_digits = counted_right = 0
    for number in numbers:
        ink = ink_from_image(open_image(number.png))
        _, probabilities = read_digits(ink, model.predict, number.strokes if with_strokes else None)
        answers = probabilities.argmax(axis=1)
        read = "".join(str(int(d)) for d in answers if d != NOT_A_DIGIT)
        whole += read == number.digits
        digits_total += len(number.digits)
        errors += min(edit_distance(read, number.digits), len(number.digits))
        if len(answers) == len(number.digits):
            counted += 1
            counted_digits += len(answers)
            counted_right += sum(int(a) == int(b) for a, b in zip(answers, number.digits, strict=True))
    return {
        "whole": whole / len(numbers),
        "per_digit": 1 - errors / digits_total,
        "segmented": counted / len(numbers),
        "per_digit_segmented": counted_right / max(counted_digits, 1),
    }


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def read_singles(numbers: list[DrawnNumber], model: Any) -> float:
    """Accuracy on the same digits drawn alone on the 400x400 canvas (standard rendering)."""
    pixels = np.stack([preprocess(png).pixels for n in numbers for png in n.singles])
    labels = np.array([int(d) for n in numbers for d in n.digits])
    return float((model.predict(pixels).argmax(axis=1) == labels).mean())


def segmentation_cost(numbers: list[DrawnNumber], model: Any, repeats: int = 20) -> dict[str, float]:
    """Median CPU ms per five-digit drawing of `segment_digits` (this thread), from the image alone and
    with the strokes, and of preprocessing its five digits, which five single drawings pay too: the
    difference is what finding the digits adds. Then (this process, for the model's threads) what
    `read_digits` adds to that segmentation and one model call for its digits: with the strokes, the
    joining of a narrow part to its neighbour, read again; from the image, that and the cutting of a wide
    part read unsurely."""
    five = [n for n in numbers if len(n.digits) == 5]
    timings: dict[str, list[float]] = defaultdict(list)
    for number in five:
        ink = ink_from_image(open_image(number.png))
        crops = [ink[y : y + h, x : x + w] for x, y, w, h in (p.box for p in segment_digits(ink))]
        batch = np.stack([p.pixels for p in segment_digits(ink, number.strokes)])
        image_batch = np.stack([p.pixels for p in segment_digits(ink)])
        for _ in range(repeats):
            start = time.thread_time()
            segment_digits(ink)
            image = time.thread_time()
            segment_digits(ink, number.strokes)
            strokes = time.thread_time()
            for crop in crops:
                preprocess_pixels(crop)
            done = time.thread_time()
            timings["segment_digits_image_ms"].append((image - start) * 1000)
            timings["segment_digits_strokes_ms"].append((strokes - image) * 1000)
            timings["digit_preprocessing_ms"].append((done - strokes) * 1000)
            start = time.process_time()
            segment_digits(ink, number.strokes)
            model.predict(batch)
            plain = time.process_time()
            read_digits(ink, model.predict, number.strokes)
            joined = time.process_time()
            timings["segment_and_read_ms"].append((plain - start) * 1000)
            timings["read_digits_strokes_ms"].append((joined - plain) * 1000)
            start = time.process_time()
            segment_digits(ink)
            model.predict(image_batch)
            plain = time.process_time()
            read_digits(ink, model.predict)
            cut = time.process_time()
            timings["segment_and_read_image_ms"].append((plain - start) * 1000)
            timings["read_digits_image_ms"].append((cut - plain) * 1000)
    medians = {key: round(statistics.median(values), 3) for key, values in timings.items()}
    medians.update(_image_reading_tail(numbers, model))
    for mode in ("image", "strokes"):
        medians[f"added_{mode}_ms"] = round(medians[f"segment_digits_{mode}_ms"] - medians["digit_preprocessing_ms"], 3)
    medians["joining_added_ms"] = round(medians["read_digits_strokes_ms"] - medians["segment_and_read_ms"], 3)
    medians["joining_and_cutting_added_image_ms"] = round(
        medians["read_digits_image_ms"] - medians["segment_and_read_image_ms"], 3
    )
    return {"drawings": len(five), **medians}


def _image_reading_tail(numbers: list[DrawnNumber], model: Any) -> dict[str, float]:
    """CPU ms of `read_digits` from the image alone over every number (not only five-digit ones): its
    median, 95th and 99th percentile and worst, where parts read unsurely are searched for digits."""
    times = []
    for number in numbers:
        ink = ink_from_image(open_image(number.png))
        start = time.process_time()
        read_digits(ink, model.predict)
        times.append((time.process_time() - start) * 1000)
    percentiles = np.percentile(times, [50, 95, 99, 100])
    names = ("p50", "p95", "p99", "max")
    return {f"read_digits_image_all_{n}_ms": round(float(v), 3) for n, v in zip(names, percentiles, strict=True)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="all", choices=["all", *registry.MODEL_NAMES])
    parser.add_argument("--count", type=int, default=500, help="numbers to compose")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--version", type=int, help="version to measure (default: what a fresh install serves)")
    parser.add_argument("--cost", action="store_true", help="time the segmentation of five-digit drawings instead")
    parser.add_argument("--committee", action="store_true", help='"not a digit" decided by the committee')
    args = parser.parse_args(argv)
    numbers = compose_numbers(args.count, args.seed)
    left_out = sum(two_glyphs(sample["strokes"]) for sample in load_unipen())
    if args.cost:
        print(
            segmentation_cost(numbers, registry.get_model("cnn" if args.model == "all" else args.model, args.version))
        )
        return
    names = registry.MODEL_NAMES if args.model == "all" else (args.model,)
    digits = sum(len(n.digits) for n in numbers)
    print(f"{len(numbers)} numbers, {digits} digits, seed {args.seed}; {left_out} samples of two glyphs left out")
    print("| model | version | whole number, image | + strokes | per digit, image | + strokes | single digits |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        model = newest_committee(name, args.version) if args.committee else registry.get_model(name, args.version)
        image = read_numbers(numbers, model, with_strokes=False)
        strokes = read_numbers(numbers, model, with_strokes=True)
        single = read_singles(numbers, model)
        cells = [image["whole"], strokes["whole"], image["per_digit"], strokes["per_digit"], single]
        print(f"| {name} | {model.version} | " + " | ".join(f"{100 * c:.2f} %" for c in cells) + " |")
        print(
            f"  right count of digits: image {100 * image['segmented']:.1f} %,"
            f" strokes {100 * strokes['segmented']:.1f} % (parts, a part not a digit included);"
            f" per digit within those: image {100 * image['per_digit_segmented']:.2f} %,"
            f" strokes {100 * strokes['per_digit_segmented']:.2f} %"
        )


if __name__ == "__main__":
    main()
