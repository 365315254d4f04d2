"""A small dependency-free SVG line chart: held-out accuracy per fine-tuning step, one line a model."""

from __future__ import annotations

COLOURS = {"cnn": "#1f6feb", "dense": "#d1242f", "numpy": "#1a7f37"}
WIDTH, HEIGHT, MARGIN = 640, 360, 56


def accuracy_plot_svg(series: dict[str, list[dict[str, float]]]) -> str:
    """`series` maps a model name to its history ([{step, holdout_accuracy, mnist_test_accuracy}, ...])."""
    values = [point["holdout_accuracy"] for history in series.values() for point in history] or [0.0, 1.0]
    low = max(0.0, min(values) - 0.01)
    high = min(1.0, max(values) + 0.005)
    steps = max((len(history) - 1 for history in series.values()), default=1) or 1

    def x(step: float) -> float:
        return MARGIN + step / steps * (WIDTH - 2 * MARGIN)

    def y(value: float) -> float:
        return HEIGHT - MARGIN - (value - low) / (high - low or 1) * (HEIGHT - 2 * MARGIN)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">'
        "Accuracy on held-out writers per fine-tuning epoch</text>",
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#333"/>',
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#333"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 16}" text-anchor="middle">epoch (0 = before fine-tuning)</text>',
    ]
    for tick in range(5):
        value = low + (high - low) * tick / 4
        parts.append(f'<text x="{MARGIN - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.1%}</text>')
        parts.append(
            f'<line x1="{MARGIN}" y1="{y(value):.1f}" x2="{WIDTH - MARGIN}" y2="{y(value):.1f}" stroke="#eee"/>'
        )
    for step in range(steps + 1):
        parts.append(f'<text x="{x(step):.1f}" y="{HEIGHT - MARGIN + 16}" text-anchor="middle">{step}</text>')
    for index, (name, history) in enumerate(sorted(series.items())):
        colour = COLOURS.get(name, "#555")
        points = " ".join(f"{x(p['step']):.1f},{y(p['holdout_accuracy']):.1f}" for p in history)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{WIDTH - MARGIN + 4}" y="{MARGIN + 16 * index}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
