"""Rebuild the committed test subsets of MNIST, HwD-1000 and unipen-dev from the full sets.

    python -m tests.data.make_subsets --mnist DIR --hwd1000 DIR --unipen DIR

Every choice is fixed (the first images, a rule for writers), so the same full sets give the same
subsets: the same decompressed bytes, the same image files, the same JSON lines. MNIST and HwD-1000
keep their first images in their own order, so a test that takes the first n images (or the first n of
one digit) sees the same images with a subset as with the full set.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from training.data import MNIST_FILES, read_idx

HERE = Path(__file__).resolve().parent
MNIST_TRAIN_IMAGES = 3000
MNIST_TEST_IMAGES = 2000
HWD1000_PER_DIGIT = 50
UNIPEN_FILES = ("digits.jsonl.gz", "letters.jsonl.gz")
# Both val writers wrote over 700 digits and 1,800 letters each: too many for a small subset.
UNIPEN_LEFT_OUT_INSTITUTIONS = {"val"}
MNIST_LICENSE = """\
The MNIST database of handwritten digits, by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, is
licensed under the Creative Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/). This directory holds its first training and test images
in the same IDX format (see tests/data/README.md), under the same licence.
"""
UNIPEN_LICENSE = """\
unipen-dev (digits.jsonl.gz, letters.jsonl.gz) is converted from the UNIPEN project's train_r01_v07
release and is licensed under the Creative Commons Attribution 4.0 International licence (CC BY 4.0,
https://creativecommons.org/licenses/by/4.0/).

Cite: I. Guyon, L. Schomaker, R. Plamondon, M. Liberman, S. Janet, "UNIPEN project of on-line data
exchange and recognizer benchmarks", ICPR 1994.

This directory holds whole writers chosen from it (see tests/data/README.md); each line is copied unchanged.
"""


def write_gzip(path: Path, data: bytes) -> None:
    """Gzip without a file name or time stamp in the header, so a rebuild gives the same file."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
        handle.write(data)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file, the format `training.data.read_idx` reads."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
    write_gzip(path, header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def mnist_subset(source: Path, target: Path) -> None:
    """The first MNIST_TRAIN_IMAGES training and MNIST_TEST_IMAGES test images, with their labels."""
    for key, name in MNIST_FILES.items():
        count = MNIST_TRAIN_IMAGES if key.startswith("train") else MNIST_TEST_IMAGES
        write_idx(target / name, read_idx(source / name)[:count])
    (target / "LICENSE").write_text(MNIST_LICENSE)


def hwd1000_subset(source: Path, target: Path) -> None:
    """The first HWD1000_PER_DIGIT rows of each digit in dataset.csv, their images and the licence."""
    with open(source / "dataset.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    taken: Counter[str] = Counter()
    kept = []
    for row in rows:
        if taken[row["label"]] < HWD1000_PER_DIGIT:
            taken[row["label"]] += 1
            kept.append(row)
    (target / "img").mkdir()
    for row in kept:
        shutil.copyfile(source / row["image"], target / row["image"])
    with open(target / "dataset.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "label"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({"image": row["image"], "label": row["label"]} for row in kept)
    shutil.copyfile(source / "LICENSE", target / "LICENSE")


def unipen_writers(records: list[dict]) -> set[tuple[str, str]]:
    """Per institution (but val), the writer with the fewest records among those who wrote every label."""
    labels: dict[str, set[str]] = defaultdict(set)
    writer_labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: Counter[tuple[str, str]] = Counter()
    for record in records:
        writer = (record["institution"], record["writer"])
        labels[record["institution"]].add(str(record["label"]))
        writer_labels[writer].add(str(record["label"]))
        counts[writer] += 1
    chosen = set()
    for institution in sorted(set(labels) - UNIPEN_LEFT_OUT_INSTITUTIONS):
        complete = [w for w in counts if w[0] == institution and writer_labels[w] == labels[institution]]
        chosen.add(min(complete, key=lambda writer: (counts[writer], writer)))
    return chosen


def unipen_subset(source: Path, target: Path) -> None:
    """Whole writers (see `unipen_writers`) of digits and letters, their lines copied in the original order."""
    for name in UNIPEN_FILES:
        with gzip.open(source / name, "rt") as handle:
            lines = [line for line in handle if line.strip()]
        records = [json.loads(line) for line in lines]
        writers = unipen_writers(records)
        kept = [
            line.rstrip("\n") + "\n"
            for line, record in zip(lines, records, strict=True)
            if (record["institution"], record["writer"]) in writers
        ]
        write_gzip(target / name, "".join(kept).encode())
    (target / "LICENSE").write_text(UNIPEN_LICENSE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", type=Path, required=True, help="the four MNIST IDX .gz files")
    parser.add_argument("--hwd1000", type=Path, required=True, help="HwD-1000: dataset.csv, img/, LICENSE")
    parser.add_argument("--unipen", type=Path, required=True, help="unipen-dev: digits.jsonl.gz, letters.jsonl.gz")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the subsets (default: tests/data)")
    args = parser.parse_args()
    for name, build, source in (
        ("mnist", mnist_subset, args.mnist),
        ("hwd1000", hwd1000_subset, args.hwd1000),
        ("unipen-dev", unipen_subset, args.unipen),
    ):
        target = args.out / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        build(source, target)
        size = sum(path.stat().st_size for path in target.rglob("*") if path.is_file())
        print(f"{target}: {size:,} bytes")


if __name__ == "__main__":
    main()
