"""Cut a wide part of a number drawing into the digits the model reads best (from the image alone).

The part is cut into atoms every `CUT_STEP` of the digits' height, and every run of neighbouring atoms up
to `MAX_WIDTH` heights wide is read by the model, in one batch. The reading kept is the split of the part
into runs whose digits together are read most surely: the sum of their log sureness, less `DIGIT_COST`
per digit and `WIDE_COST` per height of a digit's width above `WIDE` (dynamic programming over the atoms,
left to right). One digit stays whole unless its pieces read e^DIGIT_COST times as surely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from inference.answer import NOT_A_DIGIT
from inference.preprocess import to_png
from inference.segment import DigitPart, Part, Predict, ink_seen, part_ink

# A part is cut every CUT_STEP of the digits' height, no nearer than CUT_MARGIN to its sides.
CUT_STEP = 0.12
CUT_MARGIN = 0.06
# A digit spans at most this many heights.
MAX_WIDTH = 1.6
# A reading's score: its digits' log sureness (at least FLOOR) less DIGIT_COST per digit and WIDE_COST
# per height of a digit's width beyond WIDE.
FLOOR = 1e-3
DIGIT_COST = 1.0
WIDE = 1.0
WIDE_COST = 1.0


@dataclass(frozen=True)
class _Run:
    """Atoms `start` .. `end - 1` joined: their width in pooled cells, and their ink's box in the image's
    pixels with the 28x28 the model sees (None: only faint fringe)."""

    start: int
    end: int
    width: int
    seen: tuple[tuple[int, int, int, int], np.ndarray] | None


def search_part(
    ink: np.ndarray, labels: np.ndarray, part: Part, height: int, predict: Predict
) -> list[tuple[DigitPart, np.ndarray]]:
    """The digits `part` holds as the model reads them best, each with its row of probabilities;
    `height` is the digits' height in pooled cells (`inference.segment.POOL`)."""
    atoms = _atoms(part, height)
    runs = _candidate_runs(ink, labels, atoms, height)
    read = [run for run in runs if run.seen is not None]
    if not read:
        return []
    rows = predict(np.stack([run.seen[1] for run in read if run.seen is not None]))
    row_of = {(run.start, run.end): row for run, row in zip(read, rows, strict=True)}
    best: list[tuple[float, list[_Run]]] = [(0.0 if end == 0 else -math.inf, []) for end in range(len(atoms) + 1)]
    for run in runs:  # ordered by end, so each run's start is final when it is reached
        score = best[run.start][0] + _score(run, row_of.get((run.start, run.end)), height)
        if score > best[run.end][0]:
            best[run.end] = (score, [*best[run.start][1], run])
    return [
        (DigitPart(run.seen[0], run.seen[1], to_png(run.seen[1])), row_of[(run.start, run.end)])
        for run in best[-1][1]
        if run.seen is not None
    ]


def _atoms(part: Part, height: int) -> list[Part]:
    """The part's pieces between cuts every CUT_STEP of `height`."""
    step, margin = max(1, round(CUT_STEP * height)), max(1, round(CUT_MARGIN * height))
    edges = [part.left, *range(part.left + margin, part.right - margin + 1, step), part.right + 1]
    return [Part(set(part.labels), left, right - 1, part.own) for left, right in pairwise(edges) if right > left]


def _candidate_runs(ink: np.ndarray, labels: np.ndarray, atoms: list[Part], height: int) -> list[_Run]:
    """Every run of atoms up to MAX_WIDTH heights wide (a single atom always), preprocessed, by end."""
    runs = []
    for end in range(1, len(atoms) + 1):
        for start in range(end - 1, -1, -1):
            if start < end - 1 and atoms[end - 1].right - atoms[start].left + 1 > MAX_WIDTH * height:
                break
            joined = Part(set(atoms[start].labels), atoms[start].left, atoms[end - 1].right, atoms[start].own)
            runs.append(_Run(start, end, joined.right - joined.left + 1, ink_seen(*part_ink(ink, labels, joined))))
    return runs


def _score(run: _Run, row: np.ndarray | None, height: int) -> float:
    """What reading `run` as one digit adds to a reading's score (see the module docstring)."""
    if run.seen is None or row is None:
        return math.log(FLOOR)  # only faint fringe: a sliver that belongs with a neighbour
    best = int(np.argmax(row))
    sureness = 0.0 if best == NOT_A_DIGIT else float(row[best])
    return math.log(max(sureness, FLOOR)) - DIGIT_COST - WIDE_COST * max(0.0, run.width / height - WIDE)
