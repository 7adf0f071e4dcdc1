"""CSV files brought from the page: spooled to disk, previewed, imported by the same rules as the CLI.

A browser upload arrives as a binary stream. It is copied to a private file in blocks (a large
upload is never held in memory a second time) and then goes through exactly the path of
`python -m core data import`: the same detection, the same checks, all rows or none.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from core.context import Context
from core.data.csv_layout import CsvFormat, detect_layout
from core.data.csv_stream import read_chunks
from core.data.imports import import_csv, staging_dir
from core.data.series_update import SeriesUpdate
from core.errors import BadInput
from core.timeframes import normalise_symbol, parse_timeframe

PREVIEW_ROWS = 10
MAX_UPLOAD_BYTES = 2 * 1024**3
_BLOCK = 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def display_name(name: str | None) -> str:
    """The file's own name, without any path or control characters, for messages and the badge."""
    base = Path((name or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("", base).strip()
    return cleaned[:255] or "upload.csv"


@contextlib.contextmanager
def spooled(ctx: Context, stream: BinaryIO, max_bytes: int = MAX_UPLOAD_BYTES) -> Iterator[Path]:
    """The upload as a file on disk under CANDLELAB_HOME, removed afterwards."""
    directory = staging_dir(ctx.settings)
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="import-upload-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            copied = 0
            while block := stream.read(_BLOCK):
                copied += len(block)
                if copied > max_bytes:
                    raise BadInput(
                        f"the upload is larger than {max_bytes / 1024**3:.0f} GB; import it with the CLI"
                    )
                out.write(block)
        yield path
    finally:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class CsvPreview:
    format: CsvFormat
    header: tuple[str, ...]
    ignored: tuple[str, ...]  # columns the import will not read
    bars: pd.DataFrame  # the first rows as they would be stored (UTC index, OHLCV)


def preview_file(path: str | Path, name: str | None = None, rows: int = PREVIEW_ROWS) -> CsvPreview:
    """The detected export and its first rows, checked like an import; `BadInput` naming the line."""
    what = name or Path(path).name
    layout = detect_layout(path, what)
    chunks = read_chunks(path, layout, what=what, chunk_rows=rows)
    first = next(chunks, None)
    chunks.close()
    if first is None:
        raise BadInput(f"{what} has a header but no rows")
    return CsvPreview(layout.format, layout.header, layout.ignored, first.bars)


def preview_upload(ctx: Context, stream: BinaryIO, name: str | None, rows: int = PREVIEW_ROWS) -> CsvPreview:
    with spooled(ctx, stream) as path:
        return preview_file(path, display_name(name), rows)


def import_upload(
    ctx: Context, stream: BinaryIO, name: str | None, symbol: str, timeframe: str
) -> SeriesUpdate:
    """Import an uploaded CSV exactly as `data import` would (all rows or none)."""
    symbol, timeframe = normalise_symbol(symbol), parse_timeframe(timeframe).code  # before copying
    with spooled(ctx, stream) as path:
        return import_csv(ctx, path, symbol, timeframe, name=display_name(name))
