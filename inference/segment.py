"""Find the digits of a drawn number: connected ink, grouped into digits, touching digits split.

Ink is labelled on a grid pooled by `POOL` pixels (a pen line is far wider), so labelling costs a few
hundred runs, not a pass over every pixel. Components that overlap heavily in x are one digit (a 5 with
a detached bar, a 4 in two strokes); a part much wider than tall is split at its thinnest column, and,
when the page sent its pen strokes, a component whose strokes fall into groups apart in x is split
between them. Each part is preprocessed like a single drawing (`preprocess_pixels`). Reading the parts
with a model, which can join or cut them further, is `inference.numbers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from inference.errors import InferenceError
from inference.images import ink_box
from inference.preprocess import INK_THRESHOLD, preprocess_pixels, to_png

MAX_PARTS = 20
# Labelling grid: one cell per POOL x POOL pixels, inked if any pixel in it is.
POOL = 4
# Components of fewer cells than this (at most 2x2: 8 px) are specks, not strokes (a pen dot is dozens).
MIN_CELLS = 5
# Two parts are one digit when their columns overlap by this share of the narrower one.
MERGE_OVERLAP = 0.5
# Pen strokes are one digit's when their columns overlap by this share of the narrower one.
STROKE_OVERLAP = 0.2
# Points per stroke (evenly along it) when cells are given to the nearest stroke.
MAX_STROKE_POINTS = 32
# A part shorter than this share of the tallest is a mark, not a digit: joined to a digit within
# ABSORB_GAP of the tallest's height, else left out.
SMALL_PART = 0.4
ABSORB_GAP = 0.1
# A part wider than this many times the tallest part's height holds touching digits.
SPLIT_ASPECT = 1.1
# ... split only where its outline pinches to this share of its height, and never so as to cut off a
# piece shorter than SMALL_PART of the tallest (a 2's tail, a 7's bar).
PINCH = 0.5
# A split falls in the middle of the part: between these shares of its width.
SPLIT_MARGIN = 0.25


Stroke = Sequence[Sequence[float]]
Predict = Callable[[np.ndarray], np.ndarray]


class TooManyParts(InferenceError):
    """The drawing has more separate parts than a number has digits: refused before any model runs."""

    code = "too_many_parts"


@dataclass(frozen=True)
class DigitPart:
    """One digit of a number: where it is in the submitted image ([x, y, w, h]) and what a model sees."""

    box: tuple[int, int, int, int]
    pixels: np.ndarray
    png: bytes


@dataclass(eq=False)
class Part:
    """Component labels on the pooled grid, limited to columns `left`..`right` (pooled, inclusive) and,
    when a component is shared by touching digits, to the cells of `own` (a grid-sized mask)."""

    labels: set[int]
    left: int
    right: int
    own: np.ndarray | None = None

    def cells(self, labels: np.ndarray) -> np.ndarray:
        """The part's cells in its columns, as a mask of `labels[:, left : right + 1]`."""
        if self.own is not None:  # only ever cells of its components
            return self.own[:, self.left : self.right + 1]
        return _member(labels[:, self.left : self.right + 1], self.labels)

    def overlap(self, other: Part) -> float:
        """The share of the narrower part's columns that the other part's columns cover."""
        shared = min(self.right, other.right) - max(self.left, other.left) + 1
        narrower = min(self.right - self.left, other.right - other.left) + 1
        return shared / narrower

    def join(self, other: Part, labels: np.ndarray) -> None:
        """Take in `other`'s ink."""
        if self.own is not None or other.own is not None:
            self.own = self._grid(labels) | other._grid(labels)
        self.labels |= other.labels
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)

    def _grid(self, labels: np.ndarray) -> np.ndarray:
        return _member(labels, self.labels) if self.own is None else self.own


def _member(labels: np.ndarray, wanted: set[int]) -> np.ndarray:
    """Where `labels` holds one of `wanted` (a lookup table: far cheaper than `np.isin` on a grid)."""
    table = np.zeros(max(wanted) + 2, dtype=bool)
    table[list(wanted)] = True
    return table[np.minimum(labels, len(table) - 1)]


def pooled_mask(ink: np.ndarray) -> np.ndarray:
    """True for each POOL x POOL cell of `ink` that holds ink (4 bytes of a row read as one integer)."""
    height, width = ink.shape
    rows, cols = -(-height // POOL), -(-width // POOL)
    mask = ink > INK_THRESHOLD
    if (rows * POOL, cols * POOL) != (height, width):
        padded = np.zeros((rows * POOL, cols * POOL), dtype=bool)
        padded[:height, :width] = mask
        mask = padded
    words = np.ascontiguousarray(mask).view(np.uint32)  # POOL == 4 columns per word
    return (words[0::4] | words[1::4] | words[2::4] | words[3::4]) != 0


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of `mask`: a label image (0 = background, 1..n) and n. Each row's runs of
    ink are joined to the runs they touch in the row above, by a union-find done in whole arrays."""
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    run_rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # run i covers columns starts[i] .. ends[i] - 1
    labels = np.zeros((rows, cols), dtype=np.int32)
    if not len(starts):
        return labels, 0
    # Runs sorted by (row, column): run k of the row above touches run i (diagonals included) when
    # it ends at or after i's start and starts at or before i's end.
    width = cols + 2
    above = (run_rows - 1) * width
    first = np.searchsorted(run_rows * width + ends, above + starts, side="left")
    last = np.searchsorted(run_rows * width + starts, above + ends, side="right")
    counts = np.maximum(last - first, 0)
    a = np.repeat(np.arange(len(starts)), counts)
    b = np.repeat(first, counts) + _ranges(counts)
    parent = np.arange(len(starts))
    while True:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        if not apart.any():
            break
        np.minimum.at(parent, np.maximum(root_a, root_b)[apart], np.minimum(root_a, root_b)[apart])
        while (parent[parent] != parent).any():  # point every run at its root
            parent = parent[parent]
    unique, run_labels = np.unique(parent, return_inverse=True)
    lengths = ends - starts
    flat = np.repeat(run_rows * cols + starts, lengths) + _ranges(lengths)
    labels.flat[flat] = np.repeat(run_labels + 1, lengths)
    return labels, len(unique)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in `lengths`, concatenated."""
    if lengths.size == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - offsets


def _merge_overlapping(parts: list[Part], labels: np.ndarray, threshold: float = MERGE_OVERLAP) -> list[Part]:
    """Join parts whose columns overlap heavily (the pieces of one digit), until none do."""
    parts = sorted(parts, key=lambda p: p.left)
    merged = True
    while merged:
        merged = False
        for i, first in enumerate(parts):
            for second in parts[i + 1 :]:
                if first.overlap(second) >= threshold:
                    first.join(second, labels)
                    parts.remove(second)
                    merged = True
                    break
            if merged:
                break
    return parts


def _stroke_groups(strokes: Sequence[Stroke], scale: float) -> list[tuple[int, int, np.ndarray]]:
    """Pen strokes grouped into digits, as (left, right, points) in pooled cells: a stroke joins the group
    of the stroke before it when their columns overlap by STROKE_OVERLAP of the narrower (the bar of a 5,
    the second stroke of a 4); digits are drawn one after the other."""
    groups: list[tuple[int, int, np.ndarray]] = []
    for stroke in strokes:
        xy = dense_points(np.array([p[:2] for p in stroke], dtype=np.float32).reshape(-1, 2) * np.float32(scale / POOL))
        if not len(xy):
            continue
        left, right = int(xy[:, 0].min()), int(xy[:, 0].max())
        if groups:
            g_left, g_right, g_points = groups[-1]
            shared = min(right, g_right) - max(left, g_left) + 1
            if shared >= STROKE_OVERLAP * (min(right - left, g_right - g_left) + 1):
                groups[-1] = (min(left, g_left), max(right, g_right), np.concatenate([g_points, xy]))
                continue
        groups.append((left, right, xy))
    return groups


def dense_points(points: np.ndarray) -> np.ndarray:
    """A stroke's points about a cell apart (API clients may send only the corners), at most MAX_STROKE_POINTS."""
    if len(points) < 2:
        return points
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    count = int(min(MAX_STROKE_POINTS, max(2, along[-1] + 1)))
    at = np.linspace(0.0, along[-1], count)
    return np.stack([np.interp(at, along, points[:, 0]), np.interp(at, along, points[:, 1])], axis=1).astype(np.float32)


def _stroke_parts(labels: np.ndarray, kept: list[int], strokes: Sequence[Stroke], scale: float) -> list[Part]:
    """The digits the pen strokes say: each group of strokes takes the components only it crosses and,
    of a component several groups cross (touching digits), the cells nearest its own strokes. Ink no
    stroke crosses stays a part of its own."""
    rows, cols = labels.shape
    groups = _stroke_groups(strokes, scale)
    crossing: dict[int, set[int]] = {label: set() for label in kept}
    for index, (_, _, points) in enumerate(groups):
        xs = np.clip(points[:, 0].astype(int), 0, cols - 1)
        ys = np.clip(points[:, 1].astype(int), 0, rows - 1)
        for label in set(labels[ys, xs].tolist()) & crossing.keys():
            crossing[label].add(index)
    owner = np.full(int(labels.max()) + 1, -1)
    shared = []
    for label, found in crossing.items():
        if len(found) == 1:
            owner[label] = found.pop()
        elif found:
            shared.append(label)
    group_of_cell = owner[labels]
    for label in shared:
        indices = sorted(crossing[label])
        cy, cx = np.nonzero(labels == label)
        y, x = cy.astype(np.float32) + 0.5, cx.astype(np.float32) + 0.5
        distances = np.stack(
            [
                ((x[:, None] - p[None, :, 0]) ** 2 + (y[:, None] - p[None, :, 1]) ** 2).min(axis=1)
                for p in (groups[i][2] for i in indices)
            ]
        )
        group_of_cell[cy, cx] = np.array(indices)[distances.argmin(axis=0)]
    parts = [Part({label}, *_columns(labels == label)) for label, found in crossing.items() if not found]
    for index in range(len(groups)):
        own = group_of_cell == index
        if own.any():
            parts.append(Part(set(np.unique(labels[own]).tolist()), *_columns(own), own))
    return parts


def _columns(mask: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(cols[-1])


def _height(labels: np.ndarray, part: Part) -> int:
    """Rows (pooled) the part's ink spans; 0 for a part with no ink of its own."""
    rows = np.flatnonzero(part.cells(labels).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _absorb_small(labels: np.ndarray, parts: list[Part], heights: list[int]) -> list[Part]:
    """Join a mark far shorter than the digits (a bar or hook drawn apart) to a digit it nearly touches;
    one that stands alone (a dot, a speck) is no digit and is left out."""
    height = max(heights, default=0)
    small = [p for p, h in zip(parts, heights, strict=True) if h < SMALL_PART * height]
    digits = [p for p in parts if p not in small]
    for mark in small:
        gaps = [max(d.left - mark.right, mark.left - d.right, 0) for d in digits]
        if gaps and min(gaps) <= ABSORB_GAP * height:
            digits[int(np.argmin(gaps))].join(mark, labels)
    return digits


def _split_wide(labels: np.ndarray, part: Part, height: int) -> list[Part]:
    """Split a part wider than SPLIT_ASPECT times the digits' `height` where its outline pinches,
    recursively; a part whose outline spans most of its height all across (a wide 0 or 2) stays whole."""
    width = part.right - part.left + 1
    if width <= SPLIT_ASPECT * height:
        return [part]
    mask = part.cells(labels)
    low, high = int(width * SPLIT_MARGIN), width - 1 - int(width * SPLIT_MARGIN)
    # Where the digits meet, the outline pinches from above and below: the column whose ink spans fewest rows.
    top, bottom = mask.argmax(axis=0), mask.shape[0] - mask[::-1].argmax(axis=0)
    spans = np.where(mask.any(axis=0), bottom - top, 0)
    cut = low + int(np.argmin(spans[low : high + 1]))
    rows = np.flatnonzero(mask.any(axis=1))
    if spans[cut] > PINCH * (rows[-1] - rows[0] + 1):
        return [part]
    cut += part.left
    left, right = (
        Part(set(part.labels), part.left, cut, part.own),
        Part(set(part.labels), cut + 1, part.right, part.own),
    )
    if min(_height(labels, left), _height(labels, right)) < SMALL_PART * height:  # a tail or a bar cut off
        return [part]
    return _split_wide(labels, left, height) + _split_wide(labels, right, height)


def find_parts(
    ink: np.ndarray, strokes: Sequence[Stroke] | None = None, stroke_scale: float = 1.0
) -> tuple[np.ndarray, list[Part]]:
    """The pooled label image of `ink` and its digits as parts of it, left to right (see the module
    docstring). `strokes` are the pen strokes in canvas pixels, `stroke_scale` image pixels per canvas pixel."""
    labels, count = label_components(pooled_mask(ink))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    kept = [label for label in range(1, count + 1) if sizes[label] >= MIN_CELLS]
    if len(kept) > MAX_PARTS * 4:  # far too many even before the pieces of a digit join: stop here
        raise TooManyParts(f"The drawing has {len(kept)} separate parts; a number has at most {MAX_PARTS}.")
    if strokes:
        parts = _merge_overlapping(_stroke_parts(labels, kept, strokes, stroke_scale), labels)
    else:
        _, xs = np.nonzero(labels)
        cells = labels[labels > 0]
        lefts, rights = np.full(count + 1, labels.shape[1]), np.full(count + 1, -1)
        np.minimum.at(lefts, cells, xs)
        np.maximum.at(rights, cells, xs)
        parts = _merge_overlapping([Part({label}, int(lefts[label]), int(rights[label])) for label in kept], labels)
    if len(parts) > MAX_PARTS:
        raise TooManyParts(f"The drawing has {len(parts)} separate parts; a number has at most {MAX_PARTS}.")
    heights = [_height(labels, part) for part in parts]
    height = max(heights, default=0)
    parts = _absorb_small(labels, parts, heights)
    if strokes:  # the strokes have told the touching digits apart
        return labels, sorted(parts, key=lambda p: p.left)
    return labels, [piece for part in parts for piece in _split_wide(labels, part, height)]


def part_ink(ink: np.ndarray, labels: np.ndarray, part: Part) -> tuple[np.ndarray, int, int]:
    """The part's own ink (other parts' ink in its box blanked) and the pixel offset (x, y) of that array."""
    mask = part.cells(labels)
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    cells = mask[top : bottom + 1]
    x, y = part.left * POOL, top * POOL
    region = ink[y : (bottom + 1) * POOL, x : (part.right + 1) * POOL]
    pixels = np.repeat(np.repeat(cells, POOL, axis=0), POOL, axis=1)[: region.shape[0], : region.shape[1]]
    return region * pixels, x, y


def segment_digits(
    ink: np.ndarray, strokes: Sequence[Stroke] | None = None, stroke_scale: float = 1.0
) -> list[DigitPart]:
    """Each digit of a number drawing (ink array, 1.0 = ink), left to right, preprocessed like a single
    drawing, with its box in the image's pixels; an empty list when there is no ink."""
    labels, parts = find_parts(ink, strokes, stroke_scale)
    return [digit for _, digit in digit_parts(ink, labels, parts)]


def ink_seen(piece: np.ndarray, x: int, y: int) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The box in the image's pixels of the ink in `piece` (which starts at x, y) and its 28x28; None for
    only faint fringe."""
    box = ink_box(piece, INK_THRESHOLD)
    if box is None:
        return None
    size = (box.right - box.left + 1, box.bottom - box.top + 1)
    return (x + box.left, y + box.top, *size), preprocess_pixels(box.crop(piece))


def digit_parts(ink: np.ndarray, labels: np.ndarray, parts: Sequence[Part]) -> list[tuple[Part, DigitPart]]:
    """Each part with its ink preprocessed like a single drawing and its box in the image's pixels; a part
    left with only faint fringe (one side of a split) is dropped."""
    digits = []
    for part in parts:
        seen = ink_seen(*part_ink(ink, labels, part))
        if seen is not None:
            digits.append((part, DigitPart(seen[0], seen[1], to_png(seen[1]))))
    return digits
