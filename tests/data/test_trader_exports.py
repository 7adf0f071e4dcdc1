"""The exports traders have: MetaTrader 5, TradingView, Yahoo; detected from the header and said so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.context import Context
from core.data import store, supply
from core.errors import BadInput
from tests.conftest import GOOG_CSV, SHARED_DATA
from tests.data.helpers import dump, hourly_fx, write_yahoo

GBPUSD_MT5 = SHARED_DATA / "GBPUSD_1d_mt5.csv"


def _bars(ctx: Context, symbol: str, tf: str) -> pd.DataFrame:
    with ctx.db.read() as session:
        return store.load_bars(session, symbol, tf)


@pytest.mark.skipif(not GBPUSD_MT5.exists(), reason="the shared GBPUSD export is not on this machine")
def test_the_real_mt5_export_imports_with_its_precision(cli, home: Path) -> None:
    run = cli("data", "import", GBPUSD_MT5, "--symbol", "GBPUSD", "--timeframe", "1d", "--json")
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["rows"] == 3172 and doc["format"] == "mt5"
    assert doc["first"].startswith("2014-01-14") and doc["last"].startswith("2024-05-03")
    assert doc["price_decimals"] == 5 and doc["tick_size"] == pytest.approx(1e-5)
    assert doc["provider"] == "csv" and doc["file"] == "GBPUSD_1d_mt5.csv" and doc["warnings"] == []
    assert "MetaTrader 5" in cli("data", "import", GBPUSD_MT5, "--symbol", "GBPUSD", "--timeframe", "1d").out


@pytest.mark.skipif(not GBPUSD_MT5.exists(), reason="the shared GBPUSD export is not on this machine")
def test_mt5_tick_volume_stands_in_and_float_noise_is_gone(ctx: Context) -> None:
    supply.import_csv(ctx, GBPUSD_MT5, "GBPUSD", "1d")
    bars = _bars(ctx, "GBPUSD", "1d")
    first = bars.iloc[0]
    assert first["open"] == pytest.approx(1.63878, abs=1e-12)  # 1.6387800000000001 in the file
    assert first["volume"] == 53646  # tick_volume: real_volume is 0 for FX


def test_mt5_real_volume_wins_where_there_is_some(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "mt5.csv"
    path.write_text(
        "time,open,high,low,close,tick_volume,spread,real_volume\n"
        "1704067200,100.5,101.25,99.75,101.0,900,2,5000\n"
        "1704153600,101.0,102.0,100.5,101.5,800,2,0\n"
    )
    outcome = supply.import_csv(ctx, path, "XYZ", "1d")
    assert outcome.format is not None and outcome.format.name == "mt5"
    assert _bars(ctx, "XYZ", "1d")["volume"].tolist() == [5000, 800]


def test_tradingview_unix_seconds_without_volume_ignores_indicator_columns(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "FX_EURUSD, 60.csv"
    path.write_text(
        "time,open,high,low,close,Plot,Plot,RSI\n"  # TradingView repeats plot names; they are not read
        "1704186000,1.09420,1.09480,1.09390,1.09455,1.0941,1.0938,55.1\n"
        "1704189600,1.09455,1.09501,1.09402,1.09410,1.0942,1.0939,48.7\n"
    )
    outcome = supply.import_csv(ctx, path, "EURUSD", "1h")
    assert outcome.format is not None and outcome.format.name == "tradingview"
    bars = _bars(ctx, "EURUSD", "1h")
    assert bars.index[0] == pd.Timestamp("2024-01-02 09:00", tz="UTC")
    assert bars["volume"].tolist() == [0.0, 0.0] and bars["close"].iloc[1] == pytest.approx(1.0941)
    assert outcome.summary.precision is not None and outcome.summary.precision.decimals == 5


def test_tradingview_iso_times_with_volume(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "NSE_INFY, 1D.csv"
    path.write_text(
        "time,open,high,low,close,Volume,MA\n"
        "2024-01-02T03:45:00Z,1500.05,1510.5,1495.0,1505.25,120000,1490\n"
        "2024-01-03T09:15:00+05:30,1505.25,1520.0,1500.1,1518.4,98000,1492\n"
    )
    outcome = supply.import_csv(ctx, path, "INFY.NS", "1d")
    assert outcome.format is not None and outcome.format.name == "tradingview"
    bars = _bars(ctx, "INFY.NS", "1d")
    assert list(bars.index) == [
        pd.Timestamp("2024-01-02 03:45", tz="UTC"),
        pd.Timestamp("2024-01-03 03:45", tz="UTC"),
    ]
    assert bars["volume"].tolist() == [120000, 98000]


def test_mt5_terminal_export_tab_separated_with_dotted_dates(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "USDJPY_H1.csv"
    path.write_text(
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t09:00:00\t141.234\t141.456\t141.101\t141.398\t1523\t0\t3\n"
        "2024.01.02\t10:00:00\t141.398\t141.512\t141.300\t141.470\t1288\t0\t3\n"
    )
    outcome = supply.import_csv(ctx, path, "USDJPY", "1h")
    assert outcome.format is not None and outcome.format.name == "mt5_terminal"
    bars = _bars(ctx, "USDJPY", "1h")
    assert bars.index[1] == pd.Timestamp("2024-01-02 10:00", tz="UTC")
    assert bars["volume"].tolist() == [1523, 1288]
    assert outcome.summary.precision is not None and outcome.summary.precision.decimals == 3


def test_yahoo_and_generic_files_are_told_apart(ctx: Context, tmp_path: Path) -> None:
    yahoo = supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    assert yahoo.format is not None and yahoo.format.name == "yahoo"
    generic = tmp_path / "bars.csv"
    generic.write_text("timestamp,open,HIGH,low,Close,volume\n2024-01-02 04:00:00,101.5,102,101,101.7,900\n")
    outcome = supply.import_csv(ctx, generic, "ABC", "1d")
    assert outcome.format is not None and outcome.format.name == "generic"


REFUSALS = {
    "two_close": (
        "Date,Open,High,Low,Close,Close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,10\n",
        "line 1 has two columns named 'Close' (columns 5 and 6)",
    ),
    "close_twice_in_other_case": (
        "Date,Open,High,Low,Close,close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,10\n",
        "line 1 has two columns named 'Close'",
    ),
    "semicolons": (
        "Date;Open;High;Low;Close;Volume\n2024-01-02;1,1;2;0,5;1,5;10\n",
        "line 1 is separated by semicolons (';')",
    ),
    "blank_line_keeps_numbering": (
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n\n2024-01-04,1,2,0.5,x,10\n",
        "line 4 (2024-01-04T00:00:00+00:00) has a missing or non-numeric close",
    ),
    "epoch_then_garbage": (
        "time,open,high,low,close,tick_volume,spread,real_volume\n1704067200,1,2,0.5,1.5,9,0,0\nlater,1,2,0.5,1.5,9,0,0\n",
        "line 3 has an unparsable date 'later'",
    ),
    "ragged_row": (
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,1.5,10,7,8\n",
        "is not a readable CSV: line 3 has 8 fields but the header has 6",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_name_the_line_and_leave_the_store_as_it_was(
    cli, home: Path, tmp_path: Path, case: str
) -> None:
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d").code == 0
    before = dump(home)
    content, message = REFUSALS[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(content)
    run = cli("data", "import", path, "--symbol", "GOOG", "--timeframe", "1d", "--json")
    assert run.code == 2, run.out
    assert message in run.json()["error"]["message"]
    assert dump(home) == before


def test_a_repeat_far_apart_in_an_unsorted_file_is_refused_across_chunks(
    ctx: Context, tmp_path: Path
) -> None:
    """A timestamp repeated in a later chunk (the file is not in time order) names the later line."""
    frame = hourly_fx(600)
    shuffled = pd.concat([frame.iloc[300:], frame.iloc[:300], frame.iloc[[10]]])
    path = write_yahoo(shuffled, tmp_path / "shuffled.csv")
    with pytest.raises(
        BadInput, match=r"line 602 \(2024-01-01T10:00:00\+00:00\) repeats an earlier timestamp"
    ):
        supply.import_csv(ctx, path, "EURUSD", "1h", chunk_rows=100)
    ok = write_yahoo(pd.concat([frame.iloc[300:], frame.iloc[:300]]), tmp_path / "unsorted.csv")
    outcome = supply.import_csv(ctx, ok, "EURUSD", "1h", chunk_rows=100)
    assert outcome.summary.rows == 600 and outcome.warnings == ()
    pd.testing.assert_series_equal(
        _bars(ctx, "EURUSD", "1h")["close"],
        frame["Close"].rename("close").rename_axis("ts").astype(float),
        check_freq=False,
    )


def test_a_stretch_of_daily_bars_in_an_hourly_file_is_named(ctx: Context, tmp_path: Path) -> None:
    hourly = hourly_fx(1_500)
    daily_stamps = pd.date_range(
        hourly.index[-1] + pd.Timedelta(days=1), periods=20, freq="1D", name="Datetime"
    )
    daily = hourly.iloc[-20:].copy()
    daily.index = daily_stamps
    path = write_yahoo(pd.concat([hourly, daily]), tmp_path / "mixed.csv")
    outcome = supply.import_csv(ctx, path, "EURUSD", "1h")
    assert outcome.summary.rows == 1_520
    assert len(outcome.warnings) == 2, outcome.warnings
    assert "21 bars from 2024-" in outcome.warnings[0]
    assert "about 1 day (like 1d bars) apart, not 1h" in outcome.warnings[0]
    assert daily_stamps[-1].isoformat() in outcome.warnings[0]


def test_nights_weekends_and_holidays_are_not_stretches(ctx: Context, tmp_path: Path) -> None:
    fx = supply.import_csv(ctx, write_yahoo(hourly_fx(3_000), tmp_path / "fx.csv"), "EURUSD", "1h")
    assert fx.warnings == ()  # every weekend is a 49-hour gap
    equity = supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")  # NASDAQ holidays, 9/11, weekends
    assert equity.warnings == ()
    stock = hourly_fx(2_000)
    stock = stock[(stock.index.hour >= 14) & (stock.index.hour < 21)]  # a 7-hour session a day
    session = supply.import_csv(ctx, write_yahoo(stock, tmp_path / "stock.csv"), "ABC", "1h")
    assert session.warnings == ()


def test_importing_a_file_as_the_wrong_timeframe_says_so_once(ctx: Context) -> None:
    outcome = supply.import_csv(ctx, GOOG_CSV, "GOOG", "1h")
    assert "2,148 bars from 2004-08-19" in outcome.warnings[0] and "not 1h" in outcome.warnings[0]
