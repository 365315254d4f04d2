"""Read a drawn number with a model: the parts `inference.segment` finds, read in one batch, then mended.

A narrow part is joined to its neighbour when the two read as one digit (a 4 whose upright stands apart
from its angle), and a wide part read unsurely is cut into touching digits too narrow together for the
outline split: with strokes, between whole strokes where the model reads both sides surely; from the
image alone, into the digits the model reads best (`inference.number_search`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.answer import DIGIT_CLASSES, NOT_A_DIGIT
from inference.number_search import search_part
from inference.preprocess import to_png
from inference.segment import (
    POOL,
    DigitPart,
    Part,
    Predict,
    Stroke,
    dense_points,
    digit_parts,
    find_parts,
    ink_seen,
    part_ink,
)

# A part narrower than this share of the digits' height, within JOIN_GAP of the part before or after
# it, may be the upright of a 4 drawn apart from its angle. `read_digits` joins the two when the model
# reads them joined SURE-ly as one digit, and apart one of them is no digit, or is read less surely
# while it is under SHORTER of the other's height (an angle beside its taller upright).
UPRIGHT_WIDTH = 0.35
JOIN_GAP = 0.1
SURE = 0.95
SHORTER = 0.8
# A part read unsurely and at least SPLIT_TRY of the digits' height wide is cut (`_split_unsure`); with
# strokes, at one of these shares of its width where the model reads both sides SURE-ly.
SPLIT_TRY = 0.8
CUTS = (0.3, 0.4, 0.5, 0.6, 0.7)
# With strokes, a cut may leave at most this share of a stroke's points on its other side.
STROKE_SIDE = 0.2


def read_digits(
    ink: np.ndarray, predict: Predict, strokes: Sequence[Stroke] | None = None, stroke_scale: float = 1.0
) -> tuple[list[DigitPart], np.ndarray]:
    """`segment_digits` and `predict`'s probabilities for each digit (one batch), after joining a narrow
    part to the part beside it when the model reads the two as one digit surely and one of them apart not
    (a 4 whose angle and upright were drawn apart: "an angle that is no digit" and "1"), and after cutting
    a wide part read unsurely where the model reads both sides surely (`_split_unsure`)."""
    labels, parts = find_parts(ink, strokes, stroke_scale)
    digits = digit_parts(ink, labels, parts)
    if not digits:
        return [], np.zeros((0, DIGIT_CLASSES), dtype=np.float32)
    rows = list(predict(np.stack([digit.pixels for _, digit in digits])))
    height = max(digit.box[3] for _, digit in digits)
    index = 0
    while index < len(digits) - 1:
        (first, left), (second, right) = digits[index], digits[index + 1]
        if _upright_beside(left, right, height) and _split_apart(left, right, rows[index], rows[index + 1]):
            joined = Part(set(first.labels), first.left, first.right, first.own)
            joined.join(second, labels)
            read_joined = digit_parts(ink, labels, [joined])
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
    digits: list[tuple[Part, DigitPart]],
    rows: list[np.ndarray],
    predict: Predict,
    height: int,
    strokes: Sequence[Stroke] | None = None,
    stroke_scale: float = 1.0,
) -> tuple[list[DigitPart], list[np.ndarray]]:
    """Split a part that is read unsurely (or as no digit) while wide enough for two digits (touching
    digits too narrow together for `_split_wide`). From the image alone, into the digits the model reads
    best in it (`search_part`). With the pen's strokes (image pixels), at one of CUTS between whole
    strokes (the pen drew each stroke within one digit), kept where the model reads both sides surely;
    the cuts of all such parts go to the model in one batch."""
    unsure = [
        index
        for index, (_, digit) in enumerate(digits)
        if digit.box[2] >= SPLIT_TRY * height and _sureness(rows[index]) < SURE
    ]
    found: dict[int, tuple[list[DigitPart], list[np.ndarray]]] = {}
    if strokes:
        found = _cut_between_strokes(ink, labels, digits, unsure, predict, strokes, stroke_scale)
    else:
        for index in unsure:
            searched = search_part(ink, labels, digits[index][0], max(1, height // POOL), predict)
            if len(searched) > 1:
                found[index] = ([piece for piece, _ in searched], [row for _, row in searched])
    parts, kept_rows = [], []
    for index, (_, digit) in enumerate(digits):
        new_parts, new_rows = found.get(index, ([digit], [rows[index]]))
        parts += new_parts
        kept_rows += new_rows
    return parts, kept_rows


def _cut_between_strokes(
    ink: np.ndarray,
    labels: np.ndarray,
    digits: list[tuple[Part, DigitPart]],
    unsure: list[int],
    predict: Predict,
    strokes: Sequence[Stroke],
    stroke_scale: float,
) -> dict[int, tuple[list[DigitPart], list[np.ndarray]]]:
    """The two digits and rows of each part in `unsure` that a cut at one of CUTS between whole strokes
    splits into two sides both read surely, by the part's index."""
    if not unsure:
        return {}  # the strokes become points only when a part is to be cut
    points = _stroke_points(strokes, stroke_scale)
    trials = []  # (index of the part, [(box, pixels) of the left and right side of each cut])
    for index in unsure:
        part, digit = digits[index]
        region, x, y = part_ink(ink, labels, part)
        sides: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
        for share in CUTS:
            cut = int(round(share * region.shape[1]))
            if not _between_strokes(points, digit.box, x + cut):
                continue
            pair = (ink_seen(region[:, :cut], x, y), ink_seen(region[:, cut:], x + cut, y))
            if pair[0] is not None and pair[1] is not None:
                sides += [pair[0], pair[1]]
        if sides:
            trials.append((index, sides))
    if not trials:
        return {}
    read = predict(np.stack([pixels for _, sides in trials for _, pixels in sides]))
    found = {}
    at = 0
    for index, sides in trials:
        pairs = [(at + i, at + i + 1) for i in range(0, len(sides), 2)]
        best = max(pairs, key=lambda pair: min(_sureness(read[pair[0]]), _sureness(read[pair[1]])))
        if min(_sureness(read[best[0]]), _sureness(read[best[1]])) >= SURE:
            halves = [sides[i - at] for i in best]
            found[index] = ([DigitPart(box, pixels, to_png(pixels)) for box, pixels in halves], [read[i] for i in best])
        at += len(sides)
    return found


def _stroke_points(strokes: Sequence[Stroke], scale: float) -> list[np.ndarray]:
    """Each pen stroke's points in image pixels, evenly along it (`dense_points`)."""
    return [
        dense_points(np.array([p[:2] for p in stroke], dtype=np.float32).reshape(-1, 2) * np.float32(scale))
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
