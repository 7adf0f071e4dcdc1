"""Reading a user's OHLCV CSV into a validated frame (CONTRACTS §1, "CSV import")."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from core.data.frames import OHLCV, validate_ohlcv
from core.errors import BadInput

TIME_COLUMN_NAMES = ("date", "datetime", "time", "timestamp", "ts")


def _time_column(columns: list[str]) -> str:
    lowered = {c.strip().lower(): c for c in columns}
    for name in TIME_COLUMN_NAMES:
        if name in lowered:
            return lowered[name]
    first = columns[0]
    # pandas names an unnamed first column "Unnamed: 0": that is the index column of the file.
    if not first.strip() or first.startswith("Unnamed:"):
        return first
    raise BadInput(
        "CSV has no date/time column: name one of "
        + ", ".join(TIME_COLUMN_NAMES)
        + " or leave the first column unnamed"
    )


def read_ohlcv_csv(path: str | Path) -> pd.DataFrame:
    """Parse a CSV with a date/time column and Open/High/Low/Close/Volume in any letter case.

    Naive timestamps are taken as UTC; zoned ones are converted. Raises `BadInput` naming the
    line of the first bad row.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise BadInput(f"{path.name} is empty")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"{path.name} is not a readable CSV: {str(exc).strip()}") from None
    if raw.empty:
        raise BadInput(f"{path.name} has a header but no rows")
    time_col = _time_column(list(raw.columns))
    by_lower = {c.strip().lower(): c for c in raw.columns if c != time_col}
    missing = [c.capitalize() for c in OHLCV if c not in by_lower]
    if missing:
        raise BadInput(
            f"{path.name} is missing column(s) {', '.join(missing)}; "
            f"found {', '.join(c for c in raw.columns if c != time_col) or 'none'}"
        )
    stamps = raw[time_col].str.strip()
    parsed = pd.to_datetime(stamps, utc=True, errors="coerce", format="mixed")
    if parsed.isna().any():
        pos = int(parsed.isna().to_numpy().nonzero()[0][0])
        raise BadInput(
            f"{path.name}: line {pos + 2} has an unparsable date {stamps.iloc[pos]!r} "
            "(use ISO 8601, e.g. 2024-01-31 or 2024-01-31T09:15:00+05:30)"
        )
    frame = pd.DataFrame({col: raw[by_lower[col]].str.strip().replace("", None) for col in OHLCV})
    frame.index = pd.DatetimeIndex(parsed, name="ts")
    return validate_ohlcv(frame, line_offset=2, what=path.name)
