"""Paper-trade rules on hand-built bars where the right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluation.costs import TradingCosts
from core.learning.trades import close_position, plan_trades, resolve_exit


def _bars(rows: list[tuple[float, float, float]]) -> pd.DataFrame:
    """(high, low, close) per bar; open = previous close."""
    high, low, close = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1.0},
        index=pd.date_range("2024-01-01", periods=len(rows), freq="5min", tz="UTC"),
    )


FLAT = (100.5, 99.5, 100.0)


def test_buy_reaching_target_first() -> None:
    bars = _bars([FLAT, FLAT, (101.0, 99.8, 100.8), (103.0, 100.5, 102.5), (101, 97, 98)])
    assert resolve_exit(bars, 0, "BUY", target=102.0, stop=98.0, horizon=10) == (3, 102.0, "target")


def test_sell_reaching_stop_first() -> None:
    bars = _bars([FLAT, (100.2, 99.0, 99.5), (102.5, 99.6, 102.0), (101, 96, 97)])
    assert resolve_exit(bars, 0, "SELL", target=97.0, stop=102.0, horizon=10) == (2, 102.0, "stop")


def test_both_inside_one_bar_counts_as_the_stop() -> None:
    bars = _bars([FLAT, (103.0, 97.0, 100.0)])
    assert resolve_exit(bars, 0, "BUY", target=102.0, stop=98.0, horizon=5) == (1, 98.0, "stop")
    assert resolve_exit(bars, 0, "SELL", target=98.0, stop=102.0, horizon=5) == (1, 102.0, "stop")


def test_timeout_closes_at_the_horizon_close_and_short_history_stays_open() -> None:
    bars = _bars([FLAT] * 4 + [(100.9, 99.9, 100.7)] + [FLAT] * 3)
    assert resolve_exit(bars, 0, "BUY", target=105.0, stop=95.0, horizon=4) == (4, 100.7, "timeout")
    assert resolve_exit(bars, 5, "BUY", target=105.0, stop=95.0, horizon=4) is None


def test_entry_bar_range_is_not_used() -> None:
    """The entry is at the close; the entry bar's own high cannot fill the target."""
    bars = _bars([(110.0, 90.0, 100.0), FLAT, FLAT])
    assert resolve_exit(bars, 0, "BUY", target=105.0, stop=95.0, horizon=2) == (2, 100.0, "timeout")


def _signals(bars: pd.DataFrame, recs: dict[int, tuple[str, float]]) -> pd.DataFrame:
    rows = []
    for pos, (rec, conf) in recs.items():
        price = bars["close"].iloc[pos]
        target, stop = (price * 1.02, price * 0.98) if rec != "SELL" else (price * 0.98, price * 1.02)
        rows.append((bars.index[pos], rec, target, stop, conf, 0.001))
    frame = pd.DataFrame(
        rows, columns=["ts", "recommendation", "target", "stop_loss", "confidence", "predicted_return"]
    )
    return frame.set_index("ts")


def test_plan_respects_confidence_hold_start_and_max_open() -> None:
    bars = _bars([FLAT] * 30)
    signals = _signals(
        bars,
        {
            1: ("BUY", 0.9),
            2: ("HOLD", 0.9),
            3: ("SELL", 0.4),
            4: ("SELL", 0.7),
            5: ("BUY", 0.8),
            6: ("BUY", 0.8),
        },
    )
    trades = plan_trades(bars, signals, start=0, horizon=5, min_confidence=0.55, max_open=2)
    # 1 and 4 open; 5 would be a third position while both run; 1 closes at bar 6, freeing a slot.
    assert [t.position for t in trades] == [1, 4, 6]
    assert [t.exit_position for t in trades] == [6, 9, 11]
    assert all(t.exit_reason == "timeout" for t in trades)
    later = plan_trades(bars, signals, start=5, horizon=5, min_confidence=0.55, max_open=2)
    assert [t.position for t in later] == [5, 6]
    blocked = plan_trades(
        bars,
        signals,
        start=5,
        horizon=5,
        min_confidence=0.55,
        max_open=2,
        existing_exits=[np.iinfo(np.int64).max, 9],
    )
    assert blocked == []


@pytest.mark.parametrize("rec", ["BUY", "SELL"])
def test_trade_prices_come_from_the_bars(rec: str) -> None:
    bars = _bars([FLAT, (100.2, 99.8, 100.1), (103, 97, 101)])
    trade = plan_trades(bars, _signals(bars, {1: (rec, 0.9)}), start=0, horizon=3, min_confidence=0.5)[0]
    assert trade.entry_price == 100.1 and trade.entry_time == bars.index[1]
    assert trade.exit_reason == "stop"  # bar 2 reaches both levels: the stop counts


def test_paper_trades_fill_like_the_backtest_gaps_and_costs() -> None:
    """One exit rule: a bar opening below the stop fills at its open; fills slip, fees are charged."""
    bars = _bars([FLAT, (100.4, 99.9, 100.2), (97.5, 96.8, 97.0), FLAT])
    bars.loc[bars.index[2], "open"] = 97.2  # the bar gaps down through the 98 stop
    assert resolve_exit(bars, 0, "BUY", target=102.0, stop=98.0, horizon=5) == (2, 97.2, "stop")
    signals = _signals(bars, {0: ("BUY", 0.9)})
    costs = TradingCosts(commission_bps=10.0, slippage_bps=20.0)
    (trade,) = plan_trades(bars, signals, start=0, horizon=5, min_confidence=0.5, costs=costs)
    assert trade.entry_price == pytest.approx(100.0 * 1.002)
    assert (trade.exit_reason, trade.exit_position) == ("stop", 2)
    assert trade.exit_price == pytest.approx(97.2 * 0.998)
    assert trade.fees == pytest.approx(0.001 * (100.2 + 97.2 * 0.998))
    closing = close_position(bars, 0, "BUY", 102.0, 98.0, 5, entry_price=trade.entry_price, costs=costs)
    assert closing == (2, pytest.approx(trade.exit_price), "stop", pytest.approx(trade.fees))
