"""`manage.py import_drawings PATH`: labelled digits from a data set become drawings, through the queue."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference import registry
from webapp.drawings.management.commands._datasets import export_records, folder_records, strokes_records
from webapp.drawings.services.imports import DrawingImport, drawings_import


class Command(BaseCommand):
    help = (
        "Import labelled digits as drawings (source=import, label source=import) and queue their predictions. "
        "PATH is a folder with a dataset.csv of image,label (small images are placed on a 400x400 canvas the "
        "way the page sends them), a .jsonl/.jsonl.gz of pen strokes in the unipen-dev format, or an .npz "
        "written by export_drawings. Drawings already imported (same external id) are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--model", default=registry.DEFAULT_MODEL, choices=registry.MODEL_NAMES)
        parser.add_argument("--writer", help="Writer of a folder's digits (default: the folder's name).")
        parser.add_argument(
            "--prefix", help="Prefix of the external ids (default: the folder's name, or the file's folder's name)."
        )
        parser.add_argument("--limit", type=int, help="Import at most this many records (the first ones).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"].resolve()
        records = read_records(path, writer=options["writer"], prefix=options["prefix"])
        if options["limit"] is not None:
            records = islice(records, options["limit"])
        began = time.perf_counter()
        summary = drawings_import(records=records, model_name=options["model"])
        for error in summary.errors[:20]:
            self.stderr.write(f"Failed {error}")
        self.stdout.write(
            f"Imported {summary.created} drawings from {path} for model {options['model']} "
            f"({summary.skipped} already there, {summary.failed} failed) in {time.perf_counter() - began:.1f} s."
        )


def read_records(path: Path, *, writer: str | None, prefix: str | None) -> Iterator[DrawingImport]:
    """Pick the reader for what `path` is."""
    records: Iterable[DrawingImport]
    if path.is_dir():
        records = folder_records(path, writer=writer or path.name, prefix=prefix or path.name)
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        records = strokes_records(path, prefix=prefix or path.parent.name)
    elif path.suffix == ".npz":
        records = export_records(path)
    else:
        raise CommandError(f"{path} is not a folder, a .jsonl(.gz) file or an .npz export.")
    if not path.exists():
        raise CommandError(f"{path} does not exist.")
    return iter(records)
