"""Find the digits of a drawn number: connected ink, grouped into digits, touching digits split.

Ink is labelled on a grid pooled by `POOL` pixels (a pen line is far wider), so labelling costs a few
hundred runs, not a pass over every pixel. Components that overlap heavily in x are one digit (a 5 with
a detached bar, a 4 in two strokes); a part much wider than tall is split at its thinnest column, and,
when the page sent its pen strokes, a component whose strokes fall into groups apart in x is split
between them. Each part is preprocessed like a single drawing (`preprocess_pixels`). `read_digits` also
reads the parts with a model and joins a narrow part to its neighbour when the two read as one digit
(a 4 whose upright stands apart from its angle), and cuts a wide part it reads unsurely where it reads
both sides surely (touching digits too narrow together for the outline split; with strokes, only
between whole strokes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from inference.answer import DIGIT_CLASSES, NOT_A_DIGIT
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

# A part narrower than this share of the digits' height, within JOIN_GAP of the part before or after
# it, may be the upright of a 4 drawn apart from its angle. `read_digits` joins the two when the model
# reads them joined SURE-ly as one digit, and apart one of them is no digit, or is read less surely
# while it is under SHORTER of the other's height (an angle beside its taller upright).
UPRIGHT_WIDTH = 0.35
JOIN_GAP = 0.1
SURE = 0.95
SHORTER = 0.8
# A part read unsurely and at least SPLIT_TRY of the digits' height wide is cut at these shares of its
# width, and split where the model reads both sides SURE-ly (`_split_unsure`).
SPLIT_TRY = 0.8
CUTS = (0.3, 0.4, 0.5, 0.6, 0.7)
# With strokes, a cut may leave at most this share of a stroke's points on its other side.
STROKE_SIDE = 0.2

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
class _Part:
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

    def overlap(self, other: _Part) -> float:
        """The share of the narrower part's columns that the other part's columns cover."""
        shared = min(self.right, other.right) - max(self.left, other.left) + 1
        narrower = min(self.right - self.left, other.right - other.left) + 1
        return shared / narrower

    def join(self, other: _Part, labels: np.ndarray) -> None:
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


def _merge_overlapping(parts: list[_Part], labels: np.ndarray, threshold: float = MERGE_OVERLAP) -> list[_Part]:
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
        xy = _dense(np.array([p[:2] for p in stroke], dtype=np.float32).reshape(-1, 2) * np.float32(scale / POOL))
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


def _dense(points: np.ndarray) -> np.ndarray:
    """A stroke's points about a cell apart (API clients may send only the corners), at most MAX_STROKE_POINTS."""
    if len(points) < 2:
        return points
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    count = int(min(MAX_STROKE_POINTS, max(2, along[-1] + 1)))
    at = np.linspace(0.0, along[-1], count)
    return np.stack([np.interp(at, along, points[:, 0]), np.interp(at, along, points[:, 1])], axis=1).astype(np.float32)


def _stroke_parts(labels: np.ndarray, kept: list[int], strokes: Sequence[Stroke], scale: float) -> list[_Part]:
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
    parts = [_Part({label}, *_columns(labels == label)) for label, found in crossing.items() if not found]
    for index in range(len(groups)):
        own = group_of_cell == index
        if own.any():
            parts.append(_Part(set(np.unique(labels[own]).tolist()), *_columns(own), own))
    return parts


def _columns(mask: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(cols[-1])


def _height(labels: np.ndarray, part: _Part) -> int:
    """Rows (pooled) the part's ink spans; 0 for a part with no ink of its own."""
    rows = np.flatnonzero(part.cells(labels).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _absorb_small(labels: np.ndarray, parts: list[_Part], heights: list[int]) -> list[_Part]:
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


def _split_wide(labels: np.ndarray, part: _Part, height: int) -> list[_Part]:
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
        _Part(set(part.labels), part.left, cut, part.own),
        _Part(set(part.labels), cut + 1, part.right, part.own),
    )
    if min(_height(labels, left), _height(labels, right)) < SMALL_PART * height:  # a tail or a bar cut off
        return [part]
    return _split_wide(labels, left, height) + _split_wide(labels, right, height)


def find_parts(
    ink: np.ndarray, strokes: Sequence[Stroke] | None = None, stroke_scale: float = 1.0
) -> tuple[np.ndarray, list[_Part]]:
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
        parts = _merge_overlapping([_Part({label}, int(lefts[label]), int(rights[label])) for label in kept], labels)
    if len(parts) > MAX_PARTS:
        raise TooManyParts(f"The drawing has {len(parts)} separate parts; a number has at most {MAX_PARTS}.")
    heights = [_height(labels, part) for part in parts]
    height = max(heights, default=0)
    parts = _absorb_small(labels, parts, heights)
    if strokes:  # the strokes have told the touching digits apart
        return labels, sorted(parts, key=lambda p: p.left)
    return labels, [piece for part in parts for piece in _split_wide(labels, part, height)]


def _part_ink(ink: np.ndarray, labels: np.ndarray, part: _Part) -> tuple[np.ndarray, int, int]:
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
    return [digit for _, digit in _digit_parts(ink, labels, parts)]


def read_digits(
    ink: np.ndarray, predict: Predict, strokes: Sequence[Stroke] | None = None, stroke_scale: float = 1.0
) -> tuple[list[DigitPart], np.ndarray]:
    """`segment_digits` and `predict`'s probabilities for each digit (one batch), after joining a narrow
    part to the part beside it when the model reads the two as one digit surely and one of them apart not
    (a 4 whose angle and upright were drawn apart: "an angle that is no digit" and "1"), and after cutting
    a wide part read unsurely where the model reads both sides surely (`_split_unsure`)."""
    labels, parts = find_parts(ink, strokes, stroke_scale)
    digits = _digit_parts(ink, labels, parts)
    if not digits:
        return [], np.zeros((0, DIGIT_CLASSES), dtype=np.float32)
    rows = list(predict(np.stack([digit.pixels for _, digit in digits])))
    height = max(digit.box[3] for _, digit in digits)
    index = 0
    while index < len(digits) - 1:
        (first, left), (second, right) = digits[index], digits[index + 1]
        if _upright_beside(left, right, height) and _split_apart(left, right, rows[index], rows[index + 1]):
            joined = _Part(set(first.labels), first.left, first.right, first.own)
            joined.join(second, labels)
            read_joined = _digit_parts(ink, labels, [joined])
            if read_joined:
                row = predict(read_joined[0][1].pixels[None])[0]
                if _sureness(row) >= SURE:
                    digits[index : index + 2], rows[index : index + 2] = read_joined, [row]
                    continue
        index += 1
    found, found_rows = _split_unsure(ink, labels, digits, rows, predict, height, strokes, stroke_scale)
    return found, np.stack(found_rows)


def _split_unsure(
    ink: np.ndarray,
    labels: np.ndarray,
    digits: list[tuple[_Part, DigitPart]],
    rows: list[np.ndarray],
    predict: Predict,
    height: int,
    strokes: Sequence[Stroke] | None = None,
    stroke_scale: float = 1.0,
) -> tuple[list[DigitPart], list[np.ndarray]]:
    """Split a part that is read unsurely (or as no digit) while wide enough for two digits, where the
    model reads both sides of one cut surely (two touching digits too narrow together for `_split_wide`).
    With the pen's strokes (image pixels), only cuts between whole strokes are tried: the pen drew each
    stroke within one digit. All the cuts of all such parts go to the model in one batch."""
    trials = []  # (index of the part, [(box, pixels) of the left and right side of each cut])
    points: list[np.ndarray] | None = None  # the strokes in image pixels, once a part is to be cut
    for index, (part, digit) in enumerate(digits):
        if digit.box[2] < SPLIT_TRY * height or _sureness(rows[index]) >= SURE:
            continue
        if strokes and points is None:
            points = _stroke_points(strokes, stroke_scale)
        region, x, y = _part_ink(ink, labels, part)
        sides: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
        for share in CUTS:
            cut = int(round(share * region.shape[1]))
            if points is not None and not _between_strokes(points, digit.box, x + cut):
                continue
            pair = (_side(region[:, :cut], x, y), _side(region[:, cut:], x + cut, y))
            if pair[0] is not None and pair[1] is not None:
                sides += [pair[0], pair[1]]
        if sides:
            trials.append((index, sides))
    if not trials:
        return [digit for _, digit in digits], rows
    read = predict(np.stack([pixels for _, sides in trials for _, pixels in sides]))
    found: dict[int, tuple[list[DigitPart], list[np.ndarray]]] = {}
    at = 0
    for index, sides in trials:
        pairs = [(at + i, at + i + 1) for i in range(0, len(sides), 2)]
        best = max(pairs, key=lambda pair: min(_sureness(read[pair[0]]), _sureness(read[pair[1]])))
        if min(_sureness(read[best[0]]), _sureness(read[best[1]])) >= SURE:
            halves = [sides[i - at] for i in best]
            found[index] = ([DigitPart(box, pixels, to_png(pixels)) for box, pixels in halves], [read[i] for i in best])
        at += len(sides)
    parts, kept_rows = [], []
    for index, (_, digit) in enumerate(digits):
        new_parts, new_rows = found.get(index, ([digit], [rows[index]]))
        parts += new_parts
        kept_rows += new_rows
    return parts, kept_rows


def _stroke_points(strokes: Sequence[Stroke], scale: float) -> list[np.ndarray]:
    """Each pen stroke's points in image pixels, evenly along it (`_dense`)."""
    return [
        _dense(np.array([p[:2] for p in stroke], dtype=np.float32).reshape(-1, 2) * np.float32(scale))
        for stroke in strokes
    ]


def _between_strokes(strokes: list[np.ndarray], box: tuple[int, int, int, int], column: int) -> bool:
    """Whether a cut at `column` leaves each stroke drawn inside `box` (most of its points) whole on one side,
    with strokes on both sides."""
    x, y, width, height = box
    sides = set()
    for points in strokes:
        inside = (points[:, 0] >= x) & (points[:, 0] <= x + width) & (points[:, 1] >= y) & (points[:, 1] <= y + height)
        if not len(points) or inside.mean() < 0.5:
            continue
        left = float((points[:, 0] < column).mean())
        if STROKE_SIDE < left < 1 - STROKE_SIDE:
            return False
        sides.add(left >= 0.5)
    return len(sides) == 2


def _side(piece: np.ndarray, x: int, y: int) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """One side of a cut: its box in the image's pixels (`piece` starts at x, y) and its 28x28."""
    box = ink_box(piece, INK_THRESHOLD)
    if box is None:
        return None
    size = (box.right - box.left + 1, box.bottom - box.top + 1)
    return (x + box.left, y + box.top, *size), preprocess_pixels(box.crop(piece))


def _sureness(row: np.ndarray) -> float:
    """How surely a row of probabilities reads a digit: its best digit's probability, 0 for "not a digit"."""
    best = int(np.argmax(row))
    return 0.0 if best == NOT_A_DIGIT else float(row[best])


def _split_apart(left: DigitPart, right: DigitPart, left_row: np.ndarray, right_row: np.ndarray) -> bool:
    """Whether two neighbours read apart look like one digit's pieces: one is no digit, or one is read
    unsurely while it is much shorter than the other."""
    sureness = (_sureness(left_row), _sureness(right_row))
    if min(sureness) == 0.0:
        return True
    heights = (left.box[3], right.box[3])
    return min(sureness) < SURE and min(heights) < SHORTER * max(heights)


def _upright_beside(left: DigitPart, right: DigitPart, height: int) -> bool:
    """Whether one of two neighbours is narrow enough to be an upright and they stand close enough."""
    gap = right.box[0] - (left.box[0] + left.box[2])
    return min(left.box[2], right.box[2]) < UPRIGHT_WIDTH * height and gap <= JOIN_GAP * height


def _digit_parts(ink: np.ndarray, labels: np.ndarray, parts: Sequence[_Part]) -> list[tuple[_Part, DigitPart]]:
    """Each part with its ink preprocessed like a single drawing and its box in the image's pixels; a part
    left with only faint fringe (one side of a split) is dropped."""
    digits = []
    for part in parts:
        region, x, y = _part_ink(ink, labels, part)
        box = ink_box(region, INK_THRESHOLD)
        if box is None:
            continue
        pixels = preprocess_pixels(box.crop(region))
        width, height = box.right - box.left + 1, box.bottom - box.top + 1
        digits.append((part, DigitPart((x + box.left, y + box.top, width, height), pixels, to_png(pixels))))
    return digits
