"""Reading an OHLCV CSV in chunks, so a file of millions of rows never sits in memory at once.

pandas' C parser (`read_csv(chunksize=…)`) does the reading: pandas is already the project's frame
library, its parser is fast and well kept, and its row positions give every refusal an exact line.
pyarrow's streaming reader is a little faster but would be a new dependency whose conversion
errors do not name the line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.csv_layout import CsvLayout, detect_layout
from core.data.frames import validate_ohlcv
from core.errors import BadInput

CHUNK_ROWS = 100_000
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
# Dates that are not ISO 8601, tried before pandas' slow per-value "mixed" parsing.
_DOTTED_FORMATS = ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d")


@dataclass(frozen=True)
class BarChunk:
    bars: pd.DataFrame  # validated OHLCV with an aware UTC index (sorted within the chunk)
    lines: np.ndarray  # the file line of each row of `bars`, in the same order


def _bad_time(what: str, lines: np.ndarray, values: pd.Series, mask: np.ndarray, epoch: bool) -> BadInput:
    pos = int(np.flatnonzero(mask)[0])
    hint = (
        "expected Unix seconds like the rows above it"
        if epoch
        else "use ISO 8601, e.g. 2024-01-31 or 2024-01-31T09:15:00+05:30"
    )
    value = values.iloc[pos]
    shown = "an empty date" if pd.isna(value) or value == "" else f"an unparsable date {value!r}"
    return BadInput(f"{what}: line {int(lines[pos])} has {shown} ({hint})")


def _parse_text_times(text: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    for fmt in (*_DOTTED_FORMATS, "mixed"):
        failed = parsed.isna().to_numpy() & (text != "").to_numpy()
        if not failed.any():
            break
        parsed[failed] = pd.to_datetime(text[failed], utc=True, errors="coerce", format=fmt)
    return parsed


def _text(column: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(column):
        return column.str.strip()
    text = column.astype(str).str.strip()  # dates written as numbers, e.g. 20240131
    text[column.isna()] = ""
    return text


def _times(raw: pd.DataFrame, layout: CsvLayout, lines: np.ndarray, what: str) -> pd.DatetimeIndex:
    column = raw[layout.time[0]]
    if layout.epoch_unit and pd.api.types.is_numeric_dtype(column) and not column.isna().any():
        return pd.DatetimeIndex(pd.to_datetime(column, unit=layout.epoch_unit, utc=True), name="ts")
    text = _text(column)
    if len(layout.time) == 2:
        text = text + " " + _text(raw[layout.time[1]])
    if layout.epoch_unit:
        seconds = pd.to_numeric(text, errors="coerce")
        bad = seconds.isna().to_numpy()
        if bad.any():
            raise _bad_time(what, lines, text, bad, epoch=True)
        return pd.DatetimeIndex(pd.to_datetime(seconds, unit=layout.epoch_unit, utc=True), name="ts")
    parsed = _parse_text_times(text.fillna(""))
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise _bad_time(what, lines, text.fillna(""), bad, epoch=False)
    return pd.DatetimeIndex(parsed, name="ts")


def _volume(raw: pd.DataFrame, layout: CsvLayout) -> pd.Series | float:
    """Real volume where there is some; MetaTrader's tick volume stands in where it is zero (FX)."""
    if layout.volume is None and layout.tick_volume is None:
        return 0.0  # TradingView FX exports carry no volume
    if layout.tick_volume is None:
        return raw[layout.volume]
    tick = pd.to_numeric(raw[layout.tick_volume], errors="coerce")
    if layout.volume is None:
        return tick
    real = pd.to_numeric(raw[layout.volume], errors="coerce")
    return real.where(real > 0, tick)


def _chunk(raw: pd.DataFrame, layout: CsvLayout, what: str) -> BarChunk | None:
    blank = raw.isna().all(axis=1).to_numpy()
    if blank.any():  # blank lines keep their place, so every line number stays exact
        raw = raw[~blank]
    if raw.empty:
        return None
    lines = raw.index.to_numpy() + 2  # line 1 is the header
    frame = pd.DataFrame({role: raw[pos].to_numpy() for role, pos in layout.prices.items()})
    volume = _volume(raw, layout)
    frame["volume"] = volume.to_numpy() if isinstance(volume, pd.Series) else volume
    frame.index = _times(raw, layout, lines, what)
    bars = validate_ohlcv(frame, what=what, lines=lines)
    order = frame.index.argsort(kind="stable")
    return BarChunk(bars, lines[order])


def read_chunks(
    path: str | Path, layout: CsvLayout, *, what: str | None = None, chunk_rows: int = CHUNK_ROWS
) -> Iterator[BarChunk]:
    """Validated chunks of the file in file order; `BadInput` naming the line of the first bad row.

    Checks that span chunks (a timestamp repeated far apart) are the caller's: the importer stages
    rows in a table keyed by time.
    """
    path = Path(path)
    what = what or path.name
    try:
        reader = pd.read_csv(
            path,
            sep=layout.delimiter,
            header=None,
            skiprows=1,
            # Every column is named, not `usecols`: pandas would then drop extra fields silently,
            # and a row with one too many (an unquoted "1,234.5") must be refused, not shifted.
            names=range(len(layout.header)),
            skip_blank_lines=False,
            encoding="utf-8-sig",
            chunksize=chunk_rows,
        )
        with reader:
            for raw in reader:
                chunk = _chunk(raw, layout, what)
                if chunk is not None:
                    yield chunk
    except pd.errors.EmptyDataError:
        return  # a header and nothing else: the caller says so
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise BadInput(f"{what} is not a readable CSV: {_explain(exc, layout)}") from None


def _explain(exc: Exception, layout: CsvLayout) -> str:
    ragged = _RAGGED.search(str(exc))
    if ragged:
        line, seen = ragged.group(2), ragged.group(3)
        return (
            f"line {line} has {seen} fields but the header has {len(layout.header)} "
            "(an unquoted comma inside a number or text?)"
        )
    return str(exc).strip()


def read_ohlcv_csv(path: str | Path, name: str | None = None) -> pd.DataFrame:
    """A whole (small) CSV as one validated frame: the bundled demo data and tests use this."""
    path = Path(path)
    what = name or path.name
    layout = detect_layout(path, what)
    chunks = list(read_chunks(path, layout, what=what))
    if not chunks:
        raise BadInput(f"{what} has a header but no rows")
    frame = pd.concat([c.bars for c in chunks])
    return validate_ohlcv(frame, what=what, lines=np.concatenate([c.lines for c in chunks]))
