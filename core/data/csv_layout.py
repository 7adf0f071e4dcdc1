"""Which export a CSV is, read from its header: Yahoo, MetaTrader 5, TradingView or a generic file.

Only the header (and the first data line, to tell Unix seconds from dates) is read here, so a
wrong file is refused before any row is parsed. Every refusal names the file and line 1.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadInput

PRICE_ROLES = ("open", "high", "low", "close")
TIME_COLUMN_NAMES = ("date", "datetime", "time", "timestamp", "ts", "gmt time", "local time")
VOLUME_NAMES = ("volume", "vol")
TICK_VOLUME_NAMES = ("tick_volume", "tickvol", "tick volume")
REAL_VOLUME_NAMES = ("real_volume",)
_EPOCH = re.compile(r"\d{9,13}(\.\d*)?")
_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class CsvFormat:
    name: str  # the `format` key of `data import --json`
    title: str


FORMATS: dict[str, CsvFormat] = {
    f.name: f
    for f in (
        CsvFormat("yahoo", "Yahoo-style CSV (Date, Open, High, Low, Close, Volume)"),
        CsvFormat("mt5", "MetaTrader 5 export (time in Unix seconds, tick_volume standing in)"),
        CsvFormat("mt5_terminal", "MetaTrader 5 terminal export (<DATE> <TIME>, tab-separated)"),
        CsvFormat("tradingview", "TradingView chart export (time, open, high, low, close)"),
        CsvFormat("generic", "OHLCV CSV (a date/time column and Open, High, Low, Close, Volume)"),
    )
}


@dataclass(frozen=True)
class CsvLayout:
    """Where each field sits in the file (0-based column positions) and how to read it."""

    format: CsvFormat
    delimiter: str
    header: tuple[str, ...]
    time: tuple[int, ...]  # one column, or a date column and a time-of-day column
    prices: dict[str, int]  # open/high/low/close
    volume: int | None  # real volume; None: none in the file
    tick_volume: int | None  # stands in where the real volume is zero (MetaTrader)
    epoch_unit: str | None  # "s" or "ms" when the time column holds Unix time, else None
    ignored: tuple[str, ...]  # columns present but not used (indicators, spread, Adj Close)


def _key(name: str) -> str:
    return name.strip().strip("<>").strip().lower()


def _head_lines(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            where = f"byte {exc.start + 1}"
            raise BadInput(f"{path.name} is not UTF-8 text ({where}); save it as UTF-8 CSV") from None
        text = head[: exc.start].decode("utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BadInput(f"{path.name} is empty")
    return lines[:2]


def _delimiter(name: str, header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    sep = max(counts, key=lambda s: counts[s])
    if counts[sep] == 0:
        raise BadInput(
            f"{name}: line 1 has a single column {header.strip()[:60]!r}; expected a comma-separated header "
            "such as Date,Open,High,Low,Close,Volume"
        )
    if sep == ";":
        raise BadInput(
            f"{name}: line 1 is separated by semicolons (';'), not commas; export the file as "
            "comma-separated CSV with '.' as the decimal mark"
        )
    return sep


def _unique_roles(name: str, header: list[str], wanted: set[str]) -> dict[str, int]:
    """Positions of the columns CandleLab reads; two columns of one such name are ambiguous."""
    found: dict[str, int] = {}
    for pos, column in enumerate(header):
        key = _key(column)
        if key not in wanted:
            continue
        if key in found:
            first = header[found[key]].strip()
            raise BadInput(
                f"{name}: line 1 has two columns named {first!r} (columns {found[key] + 1} and {pos + 1}); "
                "keep one and import again"
            )
        found[key] = pos
    return found


def _first(found: dict[str, int], names: tuple[str, ...]) -> int | None:
    return next((found[n] for n in names if n in found), None)


def _time_positions(name: str, header: list[str], found: dict[str, int]) -> tuple[int, ...]:
    if "date" in found and "time" in found:  # a date column and a time-of-day column (MT5 terminal)
        return found["date"], found["time"]
    pos = _first(found, TIME_COLUMN_NAMES)
    if pos is not None:
        return (pos,)
    first = header[0].strip()
    if not first or first.startswith("Unnamed:"):  # a pandas/yfinance index column
        return (0,)
    raise BadInput(
        f"{name}: line 1 has no date/time column: name one of {', '.join(TIME_COLUMN_NAMES)} "
        "or leave the first column unnamed"
    )


def _format_of(header: list[str], found: dict[str, int]) -> CsvFormat:
    if any(c.strip().startswith("<") for c in header) and ("tickvol" in found or "date" in found):
        return FORMATS["mt5_terminal"]
    if "tick_volume" in found or "real_volume" in found:
        return FORMATS["mt5"]
    if [c.strip() for c in header[:5]] == ["time", "open", "high", "low", "close"]:
        return FORMATS["tradingview"]
    if any(_key(c) == "adj close" for c in header) or header[0].strip() in ("", "Date", "Datetime"):
        return FORMATS["yahoo"]
    return FORMATS["generic"]


def _epoch_unit(first_row: list[str], time: tuple[int, ...]) -> str | None:
    if len(time) != 1 or len(first_row) <= time[0]:
        return None
    value = first_row[time[0]].strip()
    if not _EPOCH.fullmatch(value):
        return None
    return "ms" if float(value) >= 1e11 else "s"


def detect_layout(path: str | Path, name: str | None = None) -> CsvLayout:
    """Read the header and say which export this is; `BadInput` naming line 1 when it cannot be read."""
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise BadInput(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise BadInput(f"{name} is empty")
    lines = _head_lines(path)
    delimiter = _delimiter(name, lines[0])
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    wanted = {*PRICE_ROLES, *TIME_COLUMN_NAMES, *VOLUME_NAMES, *TICK_VOLUME_NAMES, *REAL_VOLUME_NAMES}
    found = _unique_roles(name, header, wanted)
    fmt = _format_of(header, found)
    time = _time_positions(name, header, found)
    volume = _first(found, (*REAL_VOLUME_NAMES, *VOLUME_NAMES))
    tick_volume = _first(found, TICK_VOLUME_NAMES)
    missing = [r.capitalize() for r in PRICE_ROLES if r not in found]
    volume_optional = fmt.name in ("tradingview", "mt5", "mt5_terminal")
    if volume is None and tick_volume is None and not volume_optional:
        missing.append("Volume")
    if missing:
        others = [c.strip() for i, c in enumerate(header) if i not in time and c.strip()]
        raise BadInput(
            f"{name} is missing column(s) {', '.join(missing)}; found {', '.join(others) or 'none'}"
        )
    prices = {r: found[r] for r in PRICE_ROLES}
    first_row = next(csv.reader([lines[1]], delimiter=delimiter)) if len(lines) > 1 else []
    used = {*time, *prices.values(), volume, tick_volume}
    return CsvLayout(
        format=fmt,
        delimiter=delimiter,
        header=tuple(header),
        time=time,
        prices=prices,
        volume=volume,
        tick_volume=tick_volume,
        epoch_unit=_epoch_unit(first_row, time),
        ignored=tuple(c.strip() for i, c in enumerate(header) if i not in used and c.strip()),
    )
