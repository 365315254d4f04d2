"""How much the review order's labels teach, against labels chosen at random: the review loop simulated.

    python -m training.evaluation.label_budget [--model dense] [--budgets 100 300 1000] [--seeds 1 2 3]
                                    [--json out.json] [--svg docs/img/label-budget.svg]

unipen-dev's fine-tuning writers play the site's unlabelled drawings, rendered as the page draws them;
the committee of base versions (trained on MNIST and generated negatives only, never on unipen-dev)
answers them, and `inference.review_order` ranks them as the review pages do. For each budget, the first
N drawings of that order, or N drawn at random, have their labels revealed and `--model`'s base version
is fine-tuned on them (`training.finetune`, the site's recipe); the held-out writers score the result.
The order is fixed by the committee, so its seeds vary the fine-tune only; random's vary both.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference import registry
from inference.review_order import label_values, review_order
from training.calibration import finetune_holdout_mask
from training.data import Mnist, load_mnist, load_unipen
from training.finetune import FinetuneConfig, LabelledArrays, finetune

# The base versions: trained on MNIST and generated negatives, with the "not a digit" class.
BASE_VERSIONS = {"cnn": 5, "dense": 5, "numpy": 5}
STRATEGIES = ("review order", "random")


@dataclass(frozen=True)
class Pool:
    """The fine-tuning writers' drawings (unlabelled until chosen) and the held-out writers' (scored)."""

    x: np.ndarray
    y: np.ndarray
    writers: list[str]
    holdout: LabelledArrays


def unipen_pool() -> Pool:
    """unipen-dev as the site holds it after `import_drawings`: standard drawings, preprocessed."""
    from training.evaluation.accuracy import website_set

    drawings = website_set("unipen", "standard", "ours")
    records = load_unipen()
    held_out = finetune_holdout_mask(records)
    writers = [f"{r['institution']}/{r['writer']}" for r, h in zip(records, held_out, strict=True) if not h]
    return Pool(
        x=drawings.x[~held_out],
        y=drawings.y[~held_out],
        writers=writers,
        holdout=LabelledArrays(drawings.x[held_out], drawings.y[held_out]),
    )


@contextmanager
def base_model_dir() -> Iterator[Path]:
    """A scratch MODEL_DIR holding only the base versions, so that fine-tunes write there."""
    with tempfile.TemporaryDirectory(prefix="label-budget-") as scratch:
        for name, version in BASE_VERSIONS.items():
            shutil.copytree(registry.artifact_dir(name, version), Path(scratch) / name / str(version))
        previous = os.environ.get("MODEL_DIR")
        os.environ["MODEL_DIR"] = scratch
        try:
            yield Path(scratch)
        finally:
            if previous is None:
                os.environ.pop("MODEL_DIR", None)
            else:
                os.environ["MODEL_DIR"] = previous


def committee_rows(x: np.ndarray) -> list[np.ndarray]:
    """Each base version's calibrated probabilities for `x`, as the worker's committee computes them."""
    return [registry.get_model(name, version).predict(x) for name, version in BASE_VERSIONS.items()]


def chosen(strategy: str, budget: int, order: np.ndarray, seed: int) -> np.ndarray:
    """The pool indices whose labels are revealed."""
    if strategy == "review order":
        return order[:budget]
    return np.random.default_rng(seed).choice(len(order), size=budget, replace=False)


def fine_tuned_accuracy(
    model: str, pool: Pool, indices: np.ndarray, mnist: Mnist, seed: int, new_version: int
) -> dict[str, float]:
    """Fine-tune `model`'s base version on the chosen drawings; its held-out writers' and MNIST figures."""
    result = finetune(
        model,
        base_version=BASE_VERSIONS[model],
        new_version=new_version,
        train=LabelledArrays(pool.x[indices], pool.y[indices]),
        holdout=pool.holdout,
        mnist=mnist,
        config=FinetuneConfig(seed=seed),
    )
    return {
        "holdout_accuracy": result.after["holdout_accuracy"],
        "mnist_test_accuracy": result.after["mnist_test_accuracy"],
        "base_holdout_accuracy": result.before["holdout_accuracy"],
    }


def simulate(model: str, budgets: Sequence[int], seeds: Sequence[int]) -> dict[str, Any]:
    """Every (strategy, budget, seed) fine-tune, with what the chosen drawings held."""
    pool = unipen_pool()
    mnist = load_mnist()
    runs: list[dict[str, Any]] = []
    with base_model_dir():
        rows = committee_rows(pool.x)
        values = label_values(rows)
        answers = np.mean(rows, axis=0).argmax(axis=1)
        order = review_order(values, answers, pool.writers)
        new_version = max(BASE_VERSIONS.values()) + 1
        for budget in budgets:
            for strategy in STRATEGIES:
                for seed in seeds:
                    indices = chosen(strategy, budget, order, seed)
                    figures = fine_tuned_accuracy(model, pool, indices, mnist, seed, new_version)
                    new_version += 1
                    runs.append(
                        {
                            "strategy": strategy,
                            "labels": budget,
                            "seed": seed,
                            "answered_wrong": int(np.sum(answers[indices] != pool.y[indices])),
                            "writers": len({pool.writers[i] for i in indices}),
                            **figures,
                        }
                    )
                    print(json.dumps(runs[-1]), flush=True)
    return {
        "model": model,
        "base_versions": BASE_VERSIONS,
        "pool": len(pool.y),
        "pool_answered_wrong": int(np.sum(answers != pool.y)),
        "holdout": len(pool.holdout.y),
        "runs": runs,
    }


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per strategy and budget: the held-out accuracy's mean, minimum and maximum over seeds."""
    rows = []
    for strategy in STRATEGIES:
        for budget in sorted({run["labels"] for run in results["runs"]}):
            runs = [r for r in results["runs"] if r["strategy"] == strategy and r["labels"] == budget]
            accuracy = [r["holdout_accuracy"] for r in runs]
            rows.append(
                {
                    "strategy": strategy,
                    "labels": budget,
                    "mean": float(np.mean(accuracy)),
                    "min": float(np.min(accuracy)),
                    "max": float(np.max(accuracy)),
                    "answered_wrong": float(np.mean([r["answered_wrong"] for r in runs])),
                    "mnist_test_accuracy": float(np.mean([r["mnist_test_accuracy"] for r in runs])),
                }
            )
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The summary as the docs' table."""
    base = results["runs"][0]["base_holdout_accuracy"]
    lines = [
        f"{results['model']} v{results['base_versions'][results['model']]} before fine-tuning: "
        f"{base * 100:.2f} % on the {results['holdout']:,} held-out drawings.",
        "",
        "| labels | chosen by | held-out accuracy (mean, min-max) | MNIST test | chosen the committee got wrong |",
        "|---:|---|---|---:|---:|",
    ]
    for row in summary(results):
        lines.append(
            f"| {row['labels']:,} | {row['strategy']} | {row['mean'] * 100:.2f} % "
            f"({row['min'] * 100:.2f}-{row['max'] * 100:.2f}) | {row['mnist_test_accuracy'] * 100:.2f} % "
            f"| {row['answered_wrong']:.0f} |"
        )
    return "\n".join(lines)


def plot_svg(results: dict[str, Any]) -> str:
    """Held-out accuracy against labels (log scale) per strategy: the mean, with min-max bars."""
    rows = summary(results)
    budgets = sorted({row["labels"] for row in rows})
    low = min(row["min"] for row in rows + [{"min": results["runs"][0]["base_holdout_accuracy"]}])
    high = max(row["max"] for row in rows)
    low, high = np.floor(low * 200) / 200, np.ceil(high * 200) / 200
    width, height, left, bottom, top, right = 420, 300, 56, 42, 30, 120
    plot_w, plot_h = width - left - right, height - top - bottom
    span = np.log(budgets[-1]) - np.log(budgets[0]) or 1.0

    def x(labels: float) -> float:
        return left + (np.log(labels) - np.log(budgets[0])) / span * plot_w

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    title = html.escape(f"{results['model']}: held-out writers after fine-tuning")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="11" role="img" aria-label="{title}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left + plot_w / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">labels</text>',
    ]
    for budget in budgets:
        parts.append(f'<text x="{x(budget):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{budget:,}</text>')
    for tick in np.linspace(low, high, 5):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick * 100:.1f} %</text>')
    for number, strategy in enumerate(STRATEGIES):
        colour = ("#d9480f", "#1c7ed6")[number]
        series = [row for row in rows if row["strategy"] == strategy]
        path = " ".join(f"{x(r['labels']):.1f},{y(r['mean']):.1f}" for r in series)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in series:
            parts.append(
                f'<line x1="{x(r["labels"]):.1f}" y1="{y(r["min"]):.1f}" x2="{x(r["labels"]):.1f}" '
                f'y2="{y(r["max"]):.1f}" stroke="{colour}"/>'
            )
            parts.append(f'<circle cx="{x(r["labels"]):.1f}" cy="{y(r["mean"]):.1f}" r="3" fill="{colour}"/>')
        legend_y = top + 14 + number * 16
        parts.append(f'<rect x="{left + plot_w + 10}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 24}" y="{legend_y + 1}">{html.escape(strategy)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(BASE_VERSIONS), default="dense")
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--json", type=Path, help="write every run here")
    parser.add_argument("--svg", type=Path, help="write the plot here")
    args = parser.parse_args(argv)
    results = simulate(args.model, args.budgets, args.seeds)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.svg:
        args.svg.write_text(plot_svg(results) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
