"""Importing a trader's CSV: detect the export, stream and check every row, then store all or none.

Memory stays flat however long the file: rows are read in chunks, checked, and staged in a private
file (`core.data.staging`); only a file that passed every check reaches the store, in one short
transaction (`core.data.publish`). A refusal names the line and leaves the store byte-identical.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.context import Context
from core.data import store
from core.data.csv_layout import CsvLayout, detect_layout
from core.data.csv_stream import CHUNK_ROWS, read_chunks
from core.data.frames import BarChunk
from core.data.precision import PrecisionEstimate, merge
from core.data.prefetch import prefetch
from core.data.providers.registry import CSV
from core.data.publish import Target, publish
from core.data.series_update import SeriesUpdate
from core.data.spacing import SpacingCheck
from core.data.staging import StagingFile
from core.errors import BadInput
from core.settings import Settings
from core.timeframes import Timeframe, normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)


@dataclass
class Checks:
    """What an import learns about the whole file while it streams."""

    precision: PrecisionEstimate
    spacing: SpacingCheck


_LEFTOVER_S = 24 * 3600  # staging files of imports killed mid-way are removed a day later


def staging_dir(settings: Settings) -> Path:
    return settings.home / "staging"


def _remove_leftovers(directory: Path) -> None:
    if not directory.is_dir():
        return
    cutoff = time.time() - _LEFTOVER_S
    for path in directory.glob("import-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:  # another process removed it first
            continue


def _stage(path: Path, layout: CsvLayout, staging: StagingFile, tf: Timeframe, chunk_rows: int) -> Checks:
    """Read, check and stage every row; parsing runs a chunk ahead of staging (see prefetch)."""
    checks = Checks(PrecisionEstimate(), SpacingCheck(tf))
    ascending = True
    for chunk in prefetch(read_chunks(path, layout, what=staging.what, chunk_rows=chunk_rows)):
        ascending = ascending and _continues(staging, chunk)
        staging.add(chunk)
        checks.precision.feed(chunk.bars)
        if ascending:  # a file in time order is checked as it streams
            checks.spacing.feed(chunk.bars.index.as_unit("us").asi8)
    if not ascending:  # otherwise once more, in time order, from the staged rows
        checks.spacing = SpacingCheck(tf)
        for stamps in staging.sorted_stamps():
            checks.spacing.feed(stamps)
    return checks


def _continues(staging: StagingFile, chunk: BarChunk) -> bool:
    """Whether this chunk is in file order and starts after everything staged so far."""
    in_order = bool((np.diff(chunk.lines) > 0).all())
    first = int(chunk.bars.index.as_unit("us").asi8[0])
    return in_order and (staging.last_us is None or first > staging.last_us)


def import_csv(
    ctx: Context,
    path: str | Path,
    symbol: str,
    timeframe: str,
    *,
    name: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SeriesUpdate:
    """Import a CSV (Yahoo, MetaTrader 5, TradingView or generic) into the bar store, all or nothing.

    `name` is how messages and the badge call the file (an upload's original name). Importing
    onto a series another provider produced replaces that series: one series, one producer.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe)
    path = Path(path)
    name = name or path.name
    layout = detect_layout(path, name)
    directory = staging_dir(ctx.settings)
    _remove_leftovers(directory)
    started = time.perf_counter()
    with StagingFile(directory, name) as staging:
        checks = _stage(path, layout, staging, tf, chunk_rows)
        if not staging.rows:
            raise BadInput(f"{name} has a header but no rows")
        with ctx.db.read() as session:
            head = store.series_head(session, symbol, tf.code)
        replace = head.producer is not None and head.producer.name != CSV
        origin = store.SeriesOrigin(CSV, CSV, file_name=name[:255], import_format=layout.format.name)
        keep = head.precision if head.has_bars and not replace else None
        target = Target(symbol, tf.code, origin, merge(keep, checks.precision.result()), replace)
        replaced = publish(ctx.db, staging, target)
        rows = staging.rows
        whole = (rows, staging.first, staging.last) if replace or not head.has_bars else None
    warnings = checks.spacing.warnings()
    if replace and head.producer is not None:
        warnings.insert(0, f"replaced {replaced:,} stored {symbol} {tf.code} bars ({head.producer.title})")
    with ctx.db.read() as session:
        summary = store.summarize(session, symbol, tf.code, known=whole)
    wall = time.perf_counter() - started
    fmt = layout.format.name
    log.info("imported %d bars of %s %s from %s (%s) in %.1fs", rows, symbol, tf.code, name, fmt, wall)
    return SeriesUpdate(summary, rows, source=CSV, format=layout.format, warnings=tuple(warnings))
