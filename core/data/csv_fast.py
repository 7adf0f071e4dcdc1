"""The fast path of a CSV import: pyarrow's streaming reader and checks on whole chunks at once.

pandas' reader (`core.data.csv_stream`) is the reference: it names the exact line and the problem
of every refusal. This reader parses in about half the time, but it only vouches for chunks that
pass every check. At the first chunk it cannot vouch for (a bad value, a date format it does not
know, a blank line, a quoted field), it stops and returns that chunk's first line, and the pandas
reader takes over from there, so a refused file is refused with exactly the same message.

Quoting is off, so every parsed row is exactly one line of the file and the line numbers stay
exact; a quoted value then fails its conversion and hands over like any other surprise.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.data.csv_layout import PRICE_ROLES, CsvLayout
from core.data.frames import OHLCV, BarChunk

# pyarrow keeps about 32 blocks in flight ahead of the batch it hands out, so its memory is ~32x
# the block size: small blocks (~4,000 lines of OHLCV each, as fast as its 1 MiB default),
# regrouped into chunks of `chunk_rows`.
_BLOCK_BYTES = 256 * 1024
_EPOCH_MICROS = {"s": 1_000_000, "ms": 1_000}
_MAX_MICROS = 9.2e15  # pandas' nanosecond range, which the precise reader keeps to for Unix times
_DOTTED_FORMATS = ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d")  # as csv_stream's

Convert = Callable[[pa.Array], pa.Array]


def _column(pos: int) -> str:
    return f"c{pos}"


def _converters() -> list[Convert]:
    """Text to timestamps, tried in turn: ISO 8601 without and with a zone, then dotted dates."""
    convert: list[Convert] = [
        lambda text: pc.cast(text, pa.timestamp("us")),
        lambda text: pc.cast(text, pa.timestamp("us", tz="UTC")),
    ]
    for fmt in _DOTTED_FORMATS:
        convert.append(lambda text, fmt=fmt: pc.strptime(text, format=fmt, unit="us"))
    return convert


class _Times:
    """A chunk's time column(s) as microseconds since the epoch (UTC); None where it cannot tell."""

    def __init__(self, layout: CsvLayout) -> None:
        self.layout = layout
        self.converters = _converters()

    def __call__(self, piece: pa.Table) -> np.ndarray | None:
        columns = [piece.column(_column(pos)) for pos in self.layout.time]
        if self.layout.epoch_unit:
            micros = columns[0].to_numpy(zero_copy_only=False) * _EPOCH_MICROS[self.layout.epoch_unit]
            if not (np.abs(micros) < _MAX_MICROS).all():  # also false for a missing value (NaN)
                return None
            return np.rint(micros).astype(np.int64)
        text = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, " ")
        for i, convert in enumerate(self.converters):
            try:
                stamps = convert(text)
            except pa.ArrowInvalid:
                continue
            if stamps.null_count:
                return None
            self.converters.insert(0, self.converters.pop(i))  # the next chunk tries it first
            return stamps.cast(pa.int64()).to_numpy()
        return None


def _floats(piece: pa.Table, pos: int) -> np.ndarray:
    return piece.column(_column(pos)).to_numpy(zero_copy_only=False)  # a missing value is NaN


def _volume(piece: pa.Table, layout: CsvLayout) -> np.ndarray | float:
    """As csv_stream's: real volume where there is some, MetaTrader's tick volume where it is zero."""
    if layout.volume is None and layout.tick_volume is None:
        return 0.0
    if layout.tick_volume is None:
        return _floats(piece, layout.volume)  # type: ignore[arg-type]
    tick = _floats(piece, layout.tick_volume)
    if layout.volume is None:
        return tick
    real = _floats(piece, layout.volume)
    return np.where(real > 0, real, tick)


def _sound(values: np.ndarray) -> bool:
    """The checks of `validate_ohlcv`, on a whole chunk: any failure hands the chunk over."""
    open_, high, low, close, volume = values.T
    return bool(
        np.isfinite(values).all()
        and (values[:, :4] > 0).all()
        and (volume >= 0).all()
        and (high >= np.maximum(open_, close)).all()
        and (low <= np.minimum(open_, close)).all()  # with the line above: high >= low
    )


def _checked(piece: pa.Table, layout: CsvLayout, times: _Times, first_line: int) -> BarChunk | None:
    stamps = times(piece)
    if stamps is None:
        return None
    values = np.empty((piece.num_rows, len(OHLCV)))
    for i, role in enumerate(PRICE_ROLES):
        values[:, i] = _floats(piece, layout.prices[role])
    values[:, 4] = _volume(piece, layout)
    if not _sound(values):
        return None
    lines = np.arange(first_line, first_line + piece.num_rows)
    if not (np.diff(stamps) > 0).all():
        order = np.argsort(stamps, kind="stable")
        stamps, values, lines = stamps[order], values[order], lines[order]
        if not (np.diff(stamps) > 0).all():  # a repeated time: the precise reader names it
            return None
    index = pd.DatetimeIndex(stamps.view("datetime64[us]"), name="ts").tz_localize("UTC")
    return BarChunk(pd.DataFrame(values, index=index, columns=OHLCV), lines)


def _open(path: Path, layout: CsvLayout) -> pacsv.CSVStreamingReader:
    names = [_column(pos) for pos in range(len(layout.header))]
    used = {*layout.time, *layout.prices.values(), layout.volume, layout.tick_volume} - {None}
    time_type = pa.float64() if layout.epoch_unit else pa.string()
    types = {_column(pos): time_type if pos in layout.time else pa.float64() for pos in used}  # type: ignore[arg-type]
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=_BLOCK_BYTES),
        # Every row keeps its line (blank lines included) and must have the header's field count.
        parse_options=pacsv.ParseOptions(
            delimiter=layout.delimiter, quote_char=False, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(column_types=types, include_columns=list(types)),
    )


def _regrouped(reader: pacsv.CSVStreamingReader, chunk_rows: int) -> Iterator[pa.Table]:
    """The reader's batches as tables of `chunk_rows` rows (the last one shorter), without copying."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        while batch.num_rows:
            take = min(batch.num_rows, chunk_rows - rows)
            pending.append(batch.slice(0, take))
            rows, batch = rows + take, batch.slice(take)
            if rows == chunk_rows:
                yield pa.Table.from_batches(pending)
                pending, rows = [], 0
    if rows:
        yield pa.Table.from_batches(pending)


def fast_chunks(path: Path, layout: CsvLayout, chunk_rows: int) -> Generator[BarChunk, None, int | None]:
    """Checked chunks in file order; returns None at the end of the file, or the line from which
    the precise reader has to go on (everything before it has been yielded)."""
    line = 2  # line 1 is the header
    times = _Times(layout)
    try:
        with _open(path, layout) as reader:
            for piece in _regrouped(reader, chunk_rows):
                chunk = _checked(piece, layout, times, line)
                if chunk is None:
                    return line
                yield chunk
                line += piece.num_rows
    except pa.ArrowException:  # unreadable from here on: a ragged row, text in a number column
        return line
    return None
