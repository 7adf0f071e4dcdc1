"""The bar store: idempotent upserts and fast reads of OHLCV series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.data.frames import OHLCV, empty_frame
from core.data.precision import Precision
from core.data.providers.registry import PROVIDERS, ProviderInfo, info_for_source
from core.db.database import Database
from core.db.models import Bar, BarSeries
from core.db.types import utcnow

_CHUNK = 5_000


@dataclass(frozen=True)
class SeriesSummary:
    symbol: str
    timeframe: str
    rows: int
    first: datetime | None
    last: datetime | None
    source: str | None = None
    is_synthetic: bool = False
    stale: bool = False
    last_fetched_at: datetime | None = None
    last_error: str | None = None
    provider: str | None = None  # the registry name of the provider producing it ("csv": imported)
    file_name: str | None = None
    import_format: str | None = None
    precision: Precision | None = None

    @property
    def producer(self) -> ProviderInfo | None:
        """The provider the series belongs to (None: nothing stored, or an unknown origin)."""
        return producer_of(self.provider, self.source) if self.rows else None

    def as_json(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "rows": self.rows,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "source": self.source,
            "provider": self.provider,
            "file": self.file_name,
            "synthetic": self.is_synthetic,
            "stale": self.stale,
            "price_decimals": self.precision.decimals if self.precision else None,
            "tick_size": self.precision.tick_size if self.precision else None,
        }


@dataclass(frozen=True)
class SeriesOrigin:
    """Who produces a series and, for an imported one, from which file and export format."""

    provider: str
    source: str
    is_synthetic: bool = False
    file_name: str | None = None
    import_format: str | None = None


def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise NotImplementedError(f"bar upserts are written for SQLite and PostgreSQL, not {name}")


def upsert_bars(session: Session, symbol: str, timeframe: str, frame: pd.DataFrame, source: str) -> int:
    """Insert or update bars by (symbol, timeframe, ts); re-importing never duplicates rows.

    Runs inside the caller's transaction, so a failure anywhere leaves the store unchanged.
    """
    if frame.empty:
        return 0
    insert = _insert_for(session)
    stamps = frame.index.tz_convert("UTC").to_pydatetime()
    values = frame[OHLCV].to_numpy(dtype="float64")
    rows = [
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": ts,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
            "source": source,
        }
        for ts, (o, h, lo, c, v) in zip(stamps, values.tolist(), strict=True)
    ]
    for start in range(0, len(rows), _CHUNK):
        stmt = insert(Bar)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Bar.symbol, Bar.timeframe, Bar.ts],
            set_={c: getattr(stmt.excluded, c) for c in [*OHLCV, "source"]},
        )
        session.execute(stmt, rows[start : start + _CHUNK])
    return len(rows)


def mark_series(
    session: Session,
    symbol: str,
    timeframe: str,
    *,
    source: str,
    is_synthetic: bool = False,
    stale: bool = False,
    fetched: bool = False,
    error: str | None = None,
    provider: str | None = None,
    file_name: str | None = None,
    import_format: str | None = None,
    precision: Precision | None = None,
) -> None:
    """Record where a series came from and whether the last refresh worked.

    `provider`, `file_name`, `import_format` and `precision` keep their stored values when not given.
    """
    series = session.scalar(select(BarSeries).filter_by(symbol=symbol, timeframe=timeframe))
    if series is None:
        series = BarSeries(symbol=symbol, timeframe=timeframe, source=source)
        session.add(series)
    series.source = source
    series.is_synthetic = is_synthetic
    series.stale = stale
    series.last_error = error
    if fetched:
        series.last_fetched_at = utcnow()
    if provider is not None:
        series.provider = provider
    if file_name is not None or import_format is not None:
        series.file_name, series.import_format = file_name, import_format
    if precision is not None:
        series.price_decimals, series.tick_size = precision.decimals, precision.tick_size


def mark_origin(
    session: Session,
    symbol: str,
    timeframe: str,
    origin: SeriesOrigin,
    *,
    precision: Precision | None,
    fetched: bool = False,
) -> None:
    """A successful write of new bars: the series is current and owned by `origin.provider`."""
    mark_series(
        session,
        symbol,
        timeframe,
        source=origin.source,
        is_synthetic=origin.is_synthetic,
        fetched=fetched,
        provider=origin.provider,
        file_name=origin.file_name,
        import_format=origin.import_format,
        precision=precision,
    )


def delete_bars(session: Session, symbol: str, timeframe: str) -> int:
    """Drop a series' bars (inside the caller's transaction): a new producer replaces them."""
    result = session.execute(delete(Bar).where(Bar.symbol == symbol, Bar.timeframe == timeframe))
    return int(result.rowcount or 0)


def summarize(
    session: Session,
    symbol: str,
    timeframe: str,
    *,
    known: tuple[int, datetime, datetime] | None = None,
) -> SeriesSummary:
    """The series' counts and record. `known` (rows, first, last) skips counting the bars, for a
    writer that just stored the whole series and knows them (a count of millions takes a while)."""
    rows, first, last = (
        known
        or session.execute(
            select(func.count(), func.min(Bar.ts), func.max(Bar.ts)).where(
                Bar.symbol == symbol, Bar.timeframe == timeframe
            )
        ).one()
    )
    series = session.scalar(select(BarSeries).filter_by(symbol=symbol, timeframe=timeframe))
    # func.min/max bypass the column type, so attach UTC here as UTCDateTime would.
    first, last = (as_utc(v) for v in (first, last))
    if series is None:
        return SeriesSummary(symbol, timeframe, rows, first, last)
    return SeriesSummary(
        symbol,
        timeframe,
        rows,
        first,
        last,
        source=series.source,
        is_synthetic=series.is_synthetic,
        stale=series.stale,
        last_fetched_at=series.last_fetched_at,
        last_error=series.last_error,
        provider=series.provider,
        file_name=series.file_name,
        import_format=series.import_format,
        precision=_precision(series),
    )


@dataclass(frozen=True)
class SeriesHead:
    """What a writer needs to know of a stored series, without counting its bars."""

    has_bars: bool
    producer: ProviderInfo | None
    precision: Precision | None


def series_head(session: Session, symbol: str, timeframe: str) -> SeriesHead:
    has_bars = (
        session.scalar(select(Bar.ts).where(Bar.symbol == symbol, Bar.timeframe == timeframe).limit(1))
        is not None
    )
    if not has_bars:
        return SeriesHead(False, None, None)
    series = session.scalar(select(BarSeries).filter_by(symbol=symbol, timeframe=timeframe))
    if series is None:
        return SeriesHead(True, None, None)
    return SeriesHead(True, producer_of(series.provider, series.source), _precision(series))


def producer_of(provider: str | None, source: str | None) -> ProviderInfo | None:
    """The recorded provider, else the one whose bars carry `source` (series from before providers
    were recorded); None for an unknown origin."""
    return PROVIDERS.get(provider or "") or info_for_source(source)


def _precision(series: BarSeries) -> Precision | None:
    if series.price_decimals is None:
        return None
    return Precision(series.price_decimals, series.tick_size or 10.0**-series.price_decimals)


def as_utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def _pairs(session: Session) -> list[tuple[str, str]]:
    query = select(Bar.symbol, Bar.timeframe).distinct().order_by(Bar.symbol, Bar.timeframe)
    return [(symbol, tf) for symbol, tf in session.execute(query).all()]


def list_pairs(db: Database) -> list[tuple[str, str]]:
    """Every (symbol, timeframe) with bars, whatever produced them; no counting, so it stays quick."""
    with db.read() as session:
        return _pairs(session)


def list_series(db: Database) -> list[SeriesSummary]:
    """The summary of every stored series, from one snapshot."""
    with db.read() as session:
        return [summarize(session, s, tf) for s, tf in _pairs(session)]


def read_summary(db: Database, symbol: str, timeframe: str) -> SeriesSummary:
    """`summarize` in a read transaction of its own."""
    with db.read() as session:
        return summarize(session, symbol, timeframe)


def newest_bar_time(
    session: Session, symbol: str, timeframe: str, *, end: datetime | None = None
) -> datetime | None:
    """The newest stored bar's time (at or before `end` when given)."""
    query = select(func.max(Bar.ts)).where(Bar.symbol == symbol, Bar.timeframe == timeframe)
    if end is not None:
        query = query.where(Bar.ts <= end)
    return as_utc(session.scalar(query))


def nth_newest_bar_time(session: Session, symbol: str, timeframe: str, n: int) -> datetime | None:
    """The time of the n-th newest stored bar (1 = the newest); None when fewer are stored."""
    value = session.scalar(
        select(Bar.ts)
        .where(Bar.symbol == symbol, Bar.timeframe == timeframe)
        .order_by(Bar.ts.desc())
        .offset(max(n - 1, 0))
        .limit(1)
    )
    return as_utc(value)


def load_bars(
    session: Session,
    symbol: str,
    timeframe: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    lookback_days: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Read a series as an OHLCV frame.

    `lookback_days` counts back from the newest stored bar of the pair (CONTRACTS §1), so stored
    history behaves like fresh data; with `end`, from the newest bar at or before `end` (a window
    "as of" a past time). `limit` keeps the newest `limit` bars.
    """
    if lookback_days is not None:
        newest = newest_bar_time(session, symbol, timeframe, end=end)
        if newest is None:
            return empty_frame()
        window_start = newest - timedelta(days=lookback_days)
        start = max(start, window_start) if start else window_start
    query = select(Bar.ts, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume).where(
        Bar.symbol == symbol, Bar.timeframe == timeframe
    )
    if start is not None:
        query = query.where(Bar.ts >= start)
    if end is not None:
        query = query.where(Bar.ts <= end)
    query = query.order_by(Bar.ts.desc()).limit(limit) if limit is not None else query.order_by(Bar.ts)
    rows = session.execute(query).all()
    if not rows:
        return empty_frame()
    # Column by column: pandas reads a list of SQLAlchemy rows one row object at a time (3-5x slower).
    frame = pd.DataFrame(dict(zip(["ts", *OHLCV], map(list, zip(*rows, strict=True)), strict=True)))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame = frame.set_index("ts").sort_index()
    return frame.astype("float64")


def read_bars(
    db: Database,
    symbol: str,
    timeframe: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    lookback_days: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """`load_bars` in a read transaction of its own."""
    with db.read() as session:
        return load_bars(
            session, symbol, timeframe, start=start, end=end, lookback_days=lookback_days, limit=limit
        )
