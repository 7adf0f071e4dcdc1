"""The candle chart's data: stored bars viewed at any coarser timeframe, packed as columns.

Resampling is exact: each candle of the viewed timeframe takes the first open, the highest high,
the lowest low, the last close and the summed volume of the stored bars whose time falls in it
(bins aligned to the Unix epoch, so a 1h candle holds the bars from hh:00 to hh:59 UTC), and a
bin with no stored bar is no candle. The browser receives the candles once, as columns (time in
int32 seconds, prices in float32 when float32 holds every price at the series' precision, else as
int32 ticks when they sit on the tick grid, else float64), and
scrolls, zooms and changes ranges without asking the server again. Indicators are not sent: the
browser computes them from the closes when they are shown (`dashboard/lwchart.js`, the same
formulas as `core.features.indicators`), so the wire carries the candles alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from core.context import Context
from core.data import store
from core.timeframes import TIMEFRAMES
from core.views.prices import price_format

# What a stored series may be viewed as: its own timeframe and any coarser one it divides.
VIEW_STEPS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1wk": timedelta(weeks=1),
}
MAX_SENT = 200_000  # candles sent to the browser at most (the newest), a few MB on the wire
# A chart opens holding the newest candles only: its view three times over, and at least this many,
# so the first scrolls back need no round trip. Earlier history follows when the analyst scrolls
# near the oldest candle held or picks a range that reaches further back.
OPENING_CANDLES = 3_000
VIEWS_HELD = 3
SPACING_CHANGE = 4.0  # a typical step this many times another's marks a change of bar spacing


def view_timeframes(stored: str) -> list[str]:
    """The stored timeframe, then every coarser view whose step it divides exactly."""
    base = VIEW_STEPS.get(stored) or (TIMEFRAMES[stored].nominal if stored in TIMEFRAMES else None)
    if base is None:
        return [stored]
    coarser = [code for code, step in VIEW_STEPS.items() if step > base and step % base == timedelta(0)]
    return [stored, *coarser]


def unix_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """Seconds since the epoch, whatever the index's unit (pandas stores ns, us or s)."""
    return np.asarray(index.as_unit("s").asi8, dtype="int64")


def view_intraday(code: str) -> bool:
    return VIEW_STEPS.get(code, timedelta(days=1)) < timedelta(days=1)


def coarser_view_of(symbol: str, timeframe: str, pairs: list[tuple[str, str]]) -> str | None:
    """The finest stored timeframe of `symbol` that `timeframe` can be resampled from, if any."""
    stored = [tf for s, tf in pairs if s == symbol and tf in VIEW_STEPS]
    fits = [tf for tf in stored if timeframe in view_timeframes(tf) and tf != timeframe]
    return min(fits, key=lambda tf: VIEW_STEPS[tf]) if fits else None


def _rule(step: timedelta) -> str:
    if step % timedelta(weeks=1) == timedelta(0):
        return "W-MON"  # weeks start on Monday, as the stored 1wk bars do
    return f"{int(step.total_seconds())}s"


def resample(bars: pd.DataFrame, step: timedelta) -> pd.DataFrame:
    """Exact OHLCV aggregation of `bars` (aware UTC index) into candles of `step`; empty bins dropped."""
    if bars.empty:
        return bars[["open", "high", "low", "close", "volume"]]
    rule = _rule(step)
    kwargs: dict[str, object] = {"label": "left", "closed": "left"}
    if rule != "W-MON":
        kwargs["origin"] = "epoch"
    grouped = bars.resample(rule, **kwargs)  # type: ignore[arg-type]
    out = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
            "n": grouped["close"].count(),
        }
    )
    out = out[out["n"] > 0].drop(columns="n")
    out.index.name = "ts"
    return out


def price_dtype(prices: np.ndarray, decimals: int) -> str:
    """How the prices travel, each within a tenth of a tick of its value: float32 when it holds
    them (about 7 significant digits: FX, most stocks); else "int32" ticks (price × 10^decimals,
    for high prices such as 60,000.12) when every price is finite, on the tick grid and fits;
    else float64."""
    finite = prices[np.isfinite(prices)]
    if not finite.size:
        return "float32"
    error = np.abs(finite.astype("float32").astype("float64") - finite)
    if float(error.max()) < 0.1 * 10.0**-decimals:
        return "float32"
    ticks = prices * 10.0**decimals
    on_grid = finite.size == prices.size and float(np.abs(ticks - np.round(ticks)).max()) < 0.1
    return "int32" if on_grid and float(np.abs(ticks).max()) < 2**31 - 1 else "float64"


def volume_dtype(volumes: np.ndarray) -> str:
    """float32 when it holds every volume exactly (whole numbers below 2^24 do), else float64."""
    finite = volumes[np.isfinite(volumes)]
    return "float32" if np.array_equal(finite.astype("float32").astype("float64"), finite) else "float64"


@dataclass(frozen=True)
class SpacingChange:
    """Where the bars' spacing changes (daily bars becoming hourly), said on the time axis."""

    at: int  # Unix seconds of the first bar at the new spacing
    text: str


@dataclass(frozen=True)
class CandleSeries:
    """One series at one viewed timeframe, ready to send: its candles as columns."""

    symbol: str
    stored: str  # the stored timeframe
    view: str  # the viewed timeframe
    decimals: int
    candles: pd.DataFrame  # t (int32 s), open, high, low, close (float32/64 or int32 ticks), volume
    tick_prices: bool  # the prices are int32 counts of 10^-decimals
    total_bars: int  # stored bars behind these candles
    spacing: list[SpacingChange] = field(default_factory=list)

    @property
    def bytes_per_candle(self) -> float:
        """Candle columns only (time, OHLC, volume): what the wire carries for each candle."""
        if self.candles.empty:
            return 0.0
        return sum(self.candles[c].dtype.itemsize for c in self.candles.columns)


def _step_text(seconds: float) -> str:
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''}"
    return f"{seconds:g} s"


def spacing_changes(times: np.ndarray, window: int = 50) -> list[SpacingChange]:
    """Where the typical step between bars (a rolling median) changes by `SPACING_CHANGE`× or more.

    The time axis draws bars side by side, so a series that turns from daily to hourly bars is
    marked where it does rather than looking evenly spaced."""
    if len(times) < 2 * window:
        return []
    steps = pd.Series(np.diff(times.astype("int64")).astype("float64"))
    typical = steps.rolling(window, min_periods=window).median().shift(-(window - 1)).ffill().to_numpy()
    out: list[SpacingChange] = []
    current = typical[0]
    i = 0
    raw = steps.to_numpy()
    while i < len(typical):
        new = typical[i]
        if new * SPACING_CHANGE <= current or new >= current * SPACING_CHANGE:
            # The median turns early; the change is at the first step already at the new spacing.
            near = np.flatnonzero(np.abs(np.log(raw[i:] / new)) < np.log(1.5))
            at = i + int(near[0]) if near.size else i
            out.append(SpacingChange(int(times[at]), f"bars every {_step_text(new)} from here"))
            current = new
        i += 1
    if out:
        out.insert(0, SpacingChange(int(times[0]), f"bars every {_step_text(typical[0])}"))
    return out


def candle_series(ctx: Context, symbol: str, stored: str, view: str | None = None) -> CandleSeries:
    """The newest `MAX_SENT` candles of a stored series viewed at `view` (its own timeframe by default)."""
    view = view if view in view_timeframes(stored) else stored
    fmt = price_format(ctx, symbol, stored)
    step = VIEW_STEPS.get(view)
    if view == stored or step is None:
        raw = store.read_bars(ctx.db, symbol, stored, limit=MAX_SENT)
    else:
        base = VIEW_STEPS[stored] if stored in VIEW_STEPS else TIMEFRAMES[stored].nominal
        per = max(1, int(step / base))
        raw = store.read_bars(ctx.db, symbol, stored, limit=MAX_SENT * per)
    bars = raw if view == stored or step is None else resample(raw, step)
    bars = bars.iloc[-MAX_SENT:]
    times = unix_seconds(bars.index)
    prices = bars[["open", "high", "low", "close"]].to_numpy(dtype="float64")
    dtype = price_dtype(prices.ravel(), fmt.decimals)
    columns = np.round(prices * 10.0**fmt.decimals) if dtype == "int32" else prices
    candles = pd.DataFrame(
        {
            "t": times.astype("int32"),
            **{c: columns[:, i].astype(dtype) for i, c in enumerate(("open", "high", "low", "close"))},
            "volume": bars["volume"].to_numpy(dtype=volume_dtype(bars["volume"].to_numpy(dtype="float64"))),
        }
    )
    return CandleSeries(
        symbol=symbol,
        stored=stored,
        view=view,
        decimals=fmt.decimals,
        candles=candles,
        tick_prices=dtype == "int32",
        total_bars=len(raw),
        spacing=spacing_changes(times),
    )


def newest(series: CandleSeries, count: int) -> CandleSeries:
    """The newest `count` candles of `series` (all of them when it holds fewer), with the spacing
    marks that fall among them."""
    total = len(series.candles)
    if count >= total:
        return series
    first = total - max(1, count)
    start = int(series.candles["t"].iat[first])
    return replace(
        series,
        candles=series.candles.iloc[first:].reset_index(drop=True),
        spacing=[c for c in series.spacing if c.at >= start],
    )


def candles_since(series: CandleSeries, start: datetime | None) -> int:
    """How many candles begin at or after `start` (every candle for None: the whole history)."""
    times = series.candles["t"].to_numpy(dtype="int64")
    if start is None:
        return len(times)
    return len(times) - int(np.searchsorted(times, int(start.timestamp()), side="left"))


def held_count(total: int, in_view: int, held: int = 0, wanted: int = 0) -> int:
    """How many of the newest candles the browser should hold: the view `VIEWS_HELD` times over, at
    least `OPENING_CANDLES`, what it asked for (`wanted`), and never fewer than it holds already."""
    return min(total, max(held, wanted, OPENING_CANDLES, VIEWS_HELD * in_view))


def window(series: CandleSeries, start: datetime, end: datetime, pad: int = 30) -> CandleSeries:
    """The candles of `series` from `pad` candles before `start` to `pad` after `end` (a label
    set's stretch of history, say), cut from the series as sent, so its columns are encoded as the
    chart's are (the browser computes indicators from the candles it is given)."""
    times = series.candles["t"].to_numpy(dtype="int64")
    if not len(times):
        return series
    bounds = unix_seconds(pd.DatetimeIndex(pd.to_datetime([start, end], utc=True)))
    lo = max(0, int(np.searchsorted(times, bounds[0], side="left")) - pad)
    hi = min(len(times), int(np.searchsorted(times, bounds[1], side="right")) + pad)
    hi = max(hi, lo + 1)
    kept = [c for c in series.spacing if times[lo] <= c.at <= times[hi - 1]]
    return replace(
        series,
        candles=series.candles.iloc[lo:hi].reset_index(drop=True),
        spacing=kept,
    )
