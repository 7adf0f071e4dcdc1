"""The two CSV readers: pyarrow's reads clean files, pandas' takes over where it cannot vouch.

The fast reader must read every export exactly as the precise one does (same bars, same lines),
and a refusal anywhere in a file must name the same line and problem as before.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.context import Context
from core.data import store, supply
from core.data.csv_fast import fast_chunks
from core.data.csv_layout import detect_layout
from core.data.csv_stream import _precise_chunks
from core.data.frames import BarChunk
from core.errors import BadInput
from tests.data.helpers import hourly_fx

ROWS, CHUNK = 3_000, 500


def _rows(frame: pd.DataFrame, export: str) -> list[str]:
    values = frame[["Open", "High", "Low", "Close", "Volume"]].to_numpy()
    seconds = (frame.index - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    if export == "yahoo":
        times = frame.index.strftime("%Y-%m-%d %H:%M:%S")
        rows = zip(times, values, strict=True)
        return [
            "Datetime,Open,High,Low,Close,Volume",
            *(f"{t},{o},{h},{lo},{c},{v:g}" for t, (o, h, lo, c, v) in rows),
        ]
    if export == "mt5":
        rows = zip(seconds, values, strict=True)
        header = "time,open,high,low,close,tick_volume,spread,real_volume"
        return [header, *(f"{s},{o},{h},{lo},{c},{v:g},2,0" for s, (o, h, lo, c, v) in rows)]
    if export == "tradingview":  # ISO times with a zone, an indicator column
        times = frame.index.tz_convert("Asia/Kolkata").strftime("%Y-%m-%dT%H:%M:%S%z")
        rows = zip(times, values, strict=True)
        return [
            "time,open,high,low,close,Volume,MA",
            *(f"{t},{o},{h},{lo},{c},{v:g},1.5" for t, (o, h, lo, c, v) in rows),
        ]
    rows = zip(frame.index.strftime("%Y.%m.%d"), frame.index.strftime("%H:%M:%S"), values, strict=True)
    header = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"  # MT5 terminal
    return [header, *(f"{d}\t{t}\t{o}\t{h}\t{lo}\t{c}\t{v:g}\t0\t3" for d, t, (o, h, lo, c, v) in rows)]


def _write(lines: list[str], path: Path) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _drain(chunks: Generator[BarChunk, None, int | None]) -> tuple[list[BarChunk], int | None]:
    read = []
    while True:
        try:
            read.append(next(chunks))
        except StopIteration as stop:
            return read, stop.value


def _joined(chunks: list[BarChunk]) -> tuple[pd.DataFrame, np.ndarray]:
    return pd.concat([c.bars for c in chunks]), np.concatenate([c.lines for c in chunks])


@pytest.mark.parametrize("export", ["yahoo", "mt5", "tradingview", "mt5_terminal"])
def test_the_fast_reader_reads_every_export_like_the_precise_one(tmp_path: Path, export: str) -> None:
    frame = hourly_fx(ROWS).iloc[::-1] if export == "yahoo" else hourly_fx(ROWS)  # one file newest first
    path = _write(_rows(frame, export), tmp_path / f"{export}.csv")
    layout = detect_layout(path)
    assert layout.format.name == export
    fast, handed_over = _drain(fast_chunks(path, layout, CHUNK))
    assert handed_over is None and len(fast) == ROWS // CHUNK  # the precise reader was not needed
    precise = list(_precise_chunks(path, layout, path.name, CHUNK, first_line=2))
    (fast_bars, fast_lines), (bars, lines) = _joined(fast), _joined(precise)
    pd.testing.assert_frame_equal(fast_bars, bars, check_index_type=False)
    assert (fast_bars.index == bars.index).all() and (fast_lines == lines).all()


LINE = 2_345  # in the fifth chunk of 500 rows, so the fast reader has handed four over already
FAULTS = {  # an edit of the fields of line LINE (given the line before), and the problem named
    "text_price": (lambda f, _: [*f[:4], "1.1x", f[5]], "has a missing or non-numeric close"),
    "bad_date": (
        lambda f, _: ["2024-13-45 25:00:00", *f[1:]],
        "has an unparsable date '2024-13-45 25:00:00'",
    ),
    "negative_volume": (lambda f, _: [*f[:5], "-5"], "has a negative volume"),
    "high_below_low": (lambda f, _: [f[0], f[1], f[3], f[2], *f[4:]], "has High below Low"),
    "ragged": (lambda f, _: [*f, "7", "8"], "has 8 fields but the header has 6"),
    "repeat": (lambda _, before: before, "repeats an earlier timestamp"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_refusal_deep_in_the_file_names_its_line(ctx: Context, tmp_path: Path, fault: str) -> None:
    lines = _rows(hourly_fx(ROWS), "yahoo")
    lines.insert(1_200, "")  # a blank line earlier on: the numbering stays the file's
    edit, problem = FAULTS[fault]
    lines[LINE - 1] = ",".join(edit(lines[LINE - 1].split(","), lines[LINE - 2].split(",")))
    path = _write(lines, tmp_path / f"{fault}.csv")
    with pytest.raises(BadInput) as refused:
        supply.import_csv(ctx, path, "EURUSD", "1h", chunk_rows=CHUNK)
    assert f"line {LINE} " in str(refused.value) and problem in str(refused.value)
    with ctx.db.read() as session:
        assert store.load_bars(session, "EURUSD", "1h").empty


SURPRISES = {  # lines the precise reader accepts and the fast one does not, on line 1500
    "zoned_time": lambda f: [f[0] + "+00:00", *f[1:]],  # the only one with a zone: same instant
    "quoted_close": lambda f: [*f[:4], f'"{f[4]}"', f[5]],
}


@pytest.mark.parametrize("surprise", sorted(SURPRISES))
def test_the_precise_reader_goes_on_where_the_fast_one_stops(
    ctx: Context, tmp_path: Path, surprise: str
) -> None:
    frame = hourly_fx(ROWS)
    lines = _rows(frame, "yahoo")
    lines[1_499] = ",".join(SURPRISES[surprise](lines[1_499].split(",")))
    path = _write(lines, tmp_path / f"{surprise}.csv")
    chunks, handed_over = _drain(fast_chunks(path, detect_layout(path), CHUNK))
    if surprise == "zoned_time":  # a check fails: the chunk of lines 1002-1501 goes to pandas
        assert handed_over == 1_002 and len(chunks) == 2
    else:  # pyarrow cannot convert its block (this whole small file): pandas reads it all
        assert handed_over == 2 and not chunks
    outcome = supply.import_csv(ctx, path, "EURUSD", "1h", chunk_rows=CHUNK)
    assert outcome.summary.rows == ROWS
    with ctx.db.read() as session:
        stored = store.load_bars(session, "EURUSD", "1h")
    assert (stored.index == frame.index).all()
    assert stored["close"].tolist() == frame["Close"].tolist()
