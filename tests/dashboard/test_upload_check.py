"""The Data page's check of an upload, on real exports: the detected format, the whole span, the
precision, the gap warning the import would give, a refusal naming the line, and a file name read
for its symbol and timeframe. The check writes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from core.context import Context
from core.data import store
from core.errors import BadInput
from core.views.uploads import check_upload, guess_pair
from tests.dashboard.markets import GBPUSD_MT5, tradingview_csv
from tests.data.helpers import dump, hourly_fx, write_yahoo


def test_an_mt5_export_is_checked_in_full_and_nothing_is_stored(ctx: Context, home: Path) -> None:
    before = dump(home)
    check = check_upload(ctx, io.BytesIO(GBPUSD_MT5.read_bytes()), "GBPUSD_1d_mt5.csv", "1d")
    assert check.preview.format.name == "mt5" and check.rows == 3_172
    assert check.first.isoformat().startswith("2014-01-14") and check.last.isoformat().startswith(
        "2024-05-03"
    )
    assert check.prices.decimals == 5 and check.prices(float(check.preview.bars["open"].iloc[0])) == "1.63878"
    assert check.warnings == []  # weekends and holidays are market closures, not a wrong bar size
    assert dump(home) == before
    assert store.list_pairs(ctx.db) == []


def test_daily_bars_inside_an_hourly_file_are_named(ctx: Context, tmp_path: Path) -> None:
    frame = hourly_fx(200)
    hour, day = pd.Timedelta(hours=1), pd.Timedelta(days=1)
    first = frame.index[0]
    stamps = [first + i * hour for i in range(100)]  # 100 hourly bars,
    stamps += [stamps[-1] + (i + 1) * day for i in range(10)]  # ten daily bars,
    stamps += [stamps[-1] + (i + 1) * hour for i in range(90)]  # then hourly again
    frame.index = pd.DatetimeIndex(stamps, name="Datetime")
    path = tradingview_csv(frame, tmp_path / "EURUSD_H1.csv")
    check = check_upload(ctx, io.BytesIO(path.read_bytes()), path.name, "1h")
    assert check.preview.format.name == "tradingview" and "RSI" in check.preview.ignored
    assert any("apart, not 1h" in w for w in check.warnings), check.warnings


def test_a_bad_line_is_named_and_a_semicolon_file_is_recognised(ctx: Context, tmp_path: Path) -> None:
    good = write_yahoo(hourly_fx(50), tmp_path / "ok.csv").read_text().splitlines()
    good[7] = good[7].replace(good[7].split(",")[0], "not a date")
    with pytest.raises(BadInput, match="line 8"):
        check_upload(ctx, io.BytesIO("\n".join(good).encode()), "broken.csv", "1h")
    semi = GBPUSD_MT5.read_text().replace(",", ";").encode()
    with pytest.raises(BadInput, match="semicolon"):
        check_upload(ctx, io.BytesIO(semi), "semi.csv", "1d")


@pytest.mark.parametrize(
    ("name", "pair"),
    [
        ("GBPUSD_1d_mt5.csv", ("GBPUSD", "1d")),
        ("EURUSD_H1.csv", ("EURUSD", "1h")),
        ("FX_EURUSD, 60.csv", ("EURUSD", "1h")),
        ("OANDA_XAUUSD, 1D.csv", ("XAUUSD", "1d")),
        ("INFY.NS_5m.csv", ("INFY.NS", "5m")),
        ("../../etc/passwd", ("PASSWD", None)),
        ("export.csv", (None, None)),
    ],
)
def test_a_file_name_suggests_its_symbol_and_timeframe(
    name: str, pair: tuple[str | None, str | None]
) -> None:
    assert guess_pair(name) == pair
