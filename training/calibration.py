"""Calibrated confidence: expected calibration error, temperature scaling, reliability diagrams.

    python -m training.calibration --model all [--version V] [--update-cards] [--svg-dir docs/img]

A version's temperature T divides its logits before the softmax (`inference.models`), which never
changes the argmax. It is fitted by minimising the negative log-likelihood of held-out logits:
- fine-tuned versions on the held-out writers of the fine-tuning split (`finetune_holdout`: the 8
  unipen-dev writers that fine-tuning holds out (docs/models.md), 2,851 drawings, rendered like the page);
- base versions (no parent) on MNIST test images 0-4,999 (`MNIST_CALIBRATION_SLICE`): base training
  uses all 60,000 training images, so no training image is held out.
`--update-cards` writes `calibration` (temperature, what it was fitted on, ECE before and after) into
each card through `inference.registry.card_update`; `--svg-dir` writes a reliability diagram per model.
"""

from __future__ import annotations

import argparse
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference import registry
from inference.models import LOADERS, DigitModel
from training.data import load_mnist, load_unipen

BINS = 15
# The writers fine-tuning holds out (docs/models.md, "Fine-tuning"): institution/writer.
HOLDOUT_WRITERS = (
    "gmd/kast",
    "syn/jab-dig9",
    "syn/jwd",
    "syn/lvh",
    "syn/pm",
    "syn/rcw-dig15",
    "uqb/pe_3828",
    "val/val01",
)
MNIST_CALIBRATION_SLICE = slice(0, 5000)
# The range searched for T (log scale); golden-section steps until the bracket is this narrow.
TEMPERATURE_RANGE = (0.05, 20.0)
TOLERANCE = 1e-5


@dataclass(frozen=True)
class LabelledLogits:
    logits: np.ndarray
    labels: np.ndarray


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`, in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean cross-entropy of the labels under `softmax(logits / temperature)`."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the NLL of `labels`: golden-section search on log T (the NLL is
    unimodal in T), in `TEMPERATURE_RANGE`."""
    ratio = (math.sqrt(5) - 1) / 2
    low, high = (math.log(t) for t in TEMPERATURE_RANGE)
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = (negative_log_likelihood(logits, labels, math.exp(v)) for v in (a, b))
    while high - low > TOLERANCE:
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = negative_log_likelihood(logits, labels, math.exp(b))
    return round(math.exp((low + high) / 2), 4)


@dataclass(frozen=True)
class Bin:
    count: int
    confidence: float
    accuracy: float


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> list[Bin]:
    """Predictions grouped by confidence into `bins` equal-width bins on (0, 1]: each bin's count, mean
    confidence and accuracy."""
    return confidence_bins(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels, bins)


def confidence_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> list[Bin]:
    """`reliability_bins` from each prediction's confidence and whether it was right."""
    confidence, correct = np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=bool)
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    result = []
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        result.append(
            Bin(
                count=count,
                confidence=float(confidence[members].mean()) if count else 0.0,
                accuracy=float(correct[members].mean()) if count else 0.0,
            )
        )
    return result


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width bins weighted by size."""
    total = len(labels)
    return float(
        sum(b.count * abs(b.accuracy - b.confidence) for b in reliability_bins(probabilities, labels, bins)) / total
    )


def finetune_holdout_mask(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """Which unipen-dev records (in file order) belong to the fine-tuning split's held-out writers."""
    held_out = set(HOLDOUT_WRITERS)
    return np.array([f"{r['institution']}/{r['writer']}" in held_out for r in records], dtype=bool)


def finetune_holdout() -> tuple[np.ndarray, np.ndarray]:
    """The held-out writers' drawings (2,851) as the database held them: unipen-dev rendered like the page
    (`import_drawings` draws the standard variant) and preprocessed; (x, y) without a database."""
    from training.evaluation.accuracy import website_set  # renders and caches; imports TensorFlow-free code only

    drawings = website_set("unipen", "standard", "ours")
    mask = finetune_holdout_mask(load_unipen())
    return drawings.x[mask], drawings.y[mask]


def load_version(name: str, version: int) -> DigitModel:
    """A version loaded without the registry's process cache (its card is read afresh)."""
    card = registry.read_card(name, version)
    return LOADERS[card["framework"]](name, version, card, registry.artifact_dir(name, version))


def batched_logits(model: DigitModel, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate([model.logits(images[i : i + batch]) for i in range(0, len(images), batch)])


def _halves_ece(logits: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    """ECE with each half of the writers scored at the temperature fitted on the other half: how the
    temperature does on writers it was not fitted on."""
    probabilities = np.zeros(logits.shape)
    for half in (0, 1):
        fit = groups != half
        probabilities[~fit] = softmax(logits[~fit], fit_temperature(logits[fit], labels[fit]))
    return expected_calibration_error(probabilities, labels)


def calibrate(name: str, version: int) -> dict[str, Any]:
    """Fit the temperature of one version and measure ECE before and after, on the held-out writers and
    MNIST test."""
    model = load_version(name, version)
    card = registry.read_card(name, version)
    holdout_x, holdout_y = finetune_holdout()
    mnist = load_mnist()
    holdout = LabelledLogits(batched_logits(model, holdout_x), holdout_y)
    test = LabelledLogits(batched_logits(model, mnist.x_test), mnist.y_test)
    if card.get("parent") is None:
        fitted_on = "MNIST test images 0-4999 (base training used all 60,000 training images)"
        temperature = fit_temperature(test.logits[MNIST_CALIBRATION_SLICE], test.labels[MNIST_CALIBRATION_SLICE])
    else:
        fitted_on = f"fine-tuning holdout writers ({len(holdout_y)} drawings)"
        temperature = fit_temperature(holdout.logits, holdout.labels)
    writers = np.array(
        [
            f"{r['institution']}/{r['writer']}"
            for r, m in zip(load_unipen(), finetune_holdout_mask(load_unipen()), strict=True)
            if m
        ]
    )
    groups = np.array([HOLDOUT_WRITERS.index(w) % 2 for w in writers])
    return {
        "temperature": temperature,
        "fitted_on": fitted_on,
        "bins": BINS,
        "holdout_ece_before": expected_calibration_error(softmax(holdout.logits), holdout.labels),
        "holdout_ece_after": expected_calibration_error(softmax(holdout.logits, temperature), holdout.labels),
        "holdout_ece_cross_fitted": _halves_ece(holdout.logits, holdout.labels, groups),
        "mnist_test_ece_before": expected_calibration_error(softmax(test.logits), test.labels),
        "mnist_test_ece_after": expected_calibration_error(softmax(test.logits, temperature), test.labels),
        "argmax_unchanged": bool(
            np.array_equal(softmax(holdout.logits).argmax(1), softmax(holdout.logits, temperature).argmax(1))
            and np.array_equal(softmax(test.logits).argmax(1), softmax(test.logits, temperature).argmax(1))
        ),
        "_holdout": holdout,
    }


def reliability_svg(series: dict[str, list[Bin]], title: str) -> str:
    """A reliability diagram as hand-written SVG: accuracy against confidence per bin, one line per
    series (e.g. before and after temperature scaling), with the diagonal of perfect calibration."""
    title = html.escape(title)
    width, height, left, bottom, top, right = 360, 320, 48, 40, 30, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    colours = ["#b8b8b8", "#d9480f", "#1c7ed6"]

    def x(value: float) -> float:
        return left + value * plot_w

    def y(value: float) -> float:
        return top + (1 - value) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11" role="img" aria-label="{title}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#888" stroke-dasharray="4 3"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{x(tick):.1f}" y="{height - bottom + 14}" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">confidence</text>')
    middle = top + plot_h / 2
    parts.append(f'<text x="12" y="{middle}" transform="rotate(-90 12 {middle})" text-anchor="middle">accuracy</text>')
    for number, (label, bins) in enumerate(series.items()):
        colour = colours[(number + 1) % len(colours)]
        points = [(b.confidence, b.accuracy, b.count) for b in bins if b.count]
        path = " ".join(f"{x(c):.1f},{y(a):.1f}" for c, a, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        total = sum(count for _, _, count in points)
        for c, a, count in points:
            radius = 2 + 6 * math.sqrt(count / total)
            parts.append(
                f'<circle cx="{x(c):.1f}" cy="{y(a):.1f}" r="{radius:.1f}" fill="{colour}" fill-opacity="0.6"/>'
            )
        legend_y = top + plot_h - 12 - 16 * number
        parts.append(f'<rect x="{left + plot_w - 150}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w - 136}" y="{legend_y}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*registry.MODEL_NAMES, "all"], required=True)
    parser.add_argument("--version", type=int, help="one version (default: every version on disk)")
    parser.add_argument("--update-cards", action="store_true", help="write each version's calibration into its card")
    parser.add_argument(
        "--svg-dir", type=Path, help="write docs-style reliability diagrams of the latest versions here"
    )
    args = parser.parse_args(argv)
    names = list(registry.MODEL_NAMES) if args.model == "all" else [args.model]
    print(
        "| model | version | T | fitted on | held-out writers ECE before | after "
        "| after, T from the other half of the writers | MNIST test ECE before | after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        chosen = [args.version] if args.version else registry.versions(name)
        for version in chosen:
            result = calibrate(name, version)
            holdout: LabelledLogits = result.pop("_holdout")
            print(
                f"| {name} | {version} | {result['temperature']:.3f} | {result['fitted_on'].split(' (')[0]} "
                f"| {_percent(result['holdout_ece_before'])} | {_percent(result['holdout_ece_after'])} "
                f"| {_percent(result['holdout_ece_cross_fitted'])} | {_percent(result['mnist_test_ece_before'])} "
                f"| {_percent(result['mnist_test_ece_after'])} |",
                flush=True,
            )
            assert result["argmax_unchanged"], f"{name} v{version}: temperature changed a prediction"
            if args.update_cards:
                stored = {key: round(value, 6) if isinstance(value, float) else value for key, value in result.items()}
                stored.pop("argmax_unchanged")
                registry.card_update(name, version, {"calibration": stored})
            if args.svg_dir and version == chosen[-1]:
                series = {
                    "raw softmax": reliability_bins(softmax(holdout.logits), holdout.labels),
                    f"T = {result['temperature']:.2f}": reliability_bins(
                        softmax(holdout.logits, result["temperature"]), holdout.labels
                    ),
                }
                title = f"{name} v{version}, held-out writers"
                args.svg_dir.mkdir(parents=True, exist_ok=True)
                (args.svg_dir / f"reliability-{name}.svg").write_text(reliability_svg(series, title))


if __name__ == "__main__":
    main()
