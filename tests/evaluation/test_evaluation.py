"""Folds, statistics, broker-like fills, calibration and the reality metrics, on hand-made data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bots.base import Predictions
from core.errors import BadInput
from core.evaluation.backtest import follow_signals, resolve_exits
from core.evaluation.calibration import calibrate, fit_map, isotonic_fit
from core.evaluation.costs import TradingCosts, asset_class, costs_for
from core.evaluation.folds import walk_forward
from core.evaluation.intervals import wilson_interval
from core.evaluation.metrics import realised_returns, reality
from core.evaluation.significance import (
    binomial_upper_tail,
    block_bootstrap_ci,
    compounded,
    effective_index,
    mcnemar,
)
from core.evaluation.splits import chrono_split
from core.evaluation.stats import downsample, json_safe, max_drawdown, spearman
from tests.conftest import make_settings


def bars_from_closes(closes: list[float], spread: float = 0.0) -> pd.DataFrame:
    """Bars that open at the previous close (no gaps)."""
    close = np.asarray(closes, dtype="float64")
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC", name="ts")
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": 1.0,
        },
        index=index,
    )


def ohlc_bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    o, h, low, c = (np.array(col, dtype="float64") for col in zip(*rows, strict=True))
    index = pd.date_range("2024-01-01", periods=len(rows), freq="D", tz="UTC", name="ts")
    return pd.DataFrame({"open": o, "high": h, "low": low, "close": c, "volume": 1.0}, index=index)


# --- folds ------------------------------------------------------------------------------------


def test_inner_split_purges_and_embargoes_the_label_horizon():
    positions = np.arange(100, 300, 2)  # 100 points, two bars apart
    horizons = np.full(100, 10)
    split = chrono_split(positions, horizons, test_fraction=0.2)
    cut = positions[split.test[0]]
    assert split.test.tolist() == list(range(80, 100))
    assert np.all(positions[split.train] + horizons[split.train] + 10 <= cut)
    assert split.purged == 80 - len(split.train) == 9
    with pytest.raises(ValueError, match="sorted"):
        chrono_split(positions[::-1], horizons, test_fraction=0.2)


def test_walk_forward_folds_expand_purge_and_cover_most_of_the_window():
    positions = np.arange(100, 1100, 10)  # 100 labels over 1,000 bars
    horizons = np.full(100, 24)
    plan = walk_forward(positions, horizons, n_bars=1200, folds=5, horizon=24)
    # The first cut leaves max(20, 100/6 -> 17) = 20 clean labels: label 19 (bar 290) + 24 + 24.
    assert plan.start == 290 + 48 and plan.stop == 1200
    assert (plan.stop - plan.start) / (1100 - 100) > 0.8  # most of the labeled window is judged
    assert plan.cuts == sorted(plan.cuts) and len(plan.folds) == 5
    sizes = [f.stop - f.start for f in plan.folds]
    assert max(sizes) - min(sizes) <= 1  # equal periods in bars
    previous = -1
    for fold in plan.folds:
        ends = positions[fold.train] + horizons[fold.train] + plan.embargo_bars
        assert np.all(ends <= fold.start)  # purged and embargoed: no label reaches its period
        assert len(fold.train) > previous  # the window expands
        previous = len(fold.train)
        before = int(np.sum(positions < fold.start))
        assert fold.purged == before - len(fold.train) > 0
    assert len(plan.folds[0].train) == 20
    groups = plan.groups(2)
    assert [len(g.folds) for g in groups] == [2, 3] or [len(g.folds) for g in groups] == [3, 2]
    assert groups[0].start == plan.start and groups[-1].stop == plan.stop
    assert all(np.array_equal(g.train, g.folds[0].train) for g in groups)
    shared = walk_forward(positions, horizons, n_bars=1200, folds=5, horizon=24, start=500)
    assert shared.start == 500  # an experiment imposes one first cut on every labeler
    with pytest.raises(BadInput, match="too few for walk-forward"):
        walk_forward(positions[:10], horizons[:10], n_bars=1200, folds=5, horizon=24)
    with pytest.raises(BadInput, match="bars after the first"):
        walk_forward(positions, horizons, n_bars=350, folds=5, horizon=24)


# --- statistics -------------------------------------------------------------------------------


def test_wilson_interval_reads_small_samples_honestly():
    lo, hi = wilson_interval(21, 40)  # 52 % on 40 points
    assert lo == pytest.approx(0.3750, abs=1e-3) and hi == pytest.approx(0.6706, abs=1e-3)
    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.69 < lo < 0.73


def test_small_statistics():
    assert spearman(np.array([1, 2, 3, 4]), np.array([10, 20, 30, 40])) == 1.0
    assert spearman(np.array([1, 2]), np.array([1, 2])) is None
    assert max_drawdown(np.array([1.0, 1.2, 0.9, 1.3])) == pytest.approx(0.25)
    points = [(str(i), float(i)) for i in range(1000)]
    small = downsample(points, 200)
    assert len(small) <= 200 and small[0] == ["0", 0.0] and small[-1] == ["999", 999.0]
    assert json_safe({"a": np.float64("nan"), "b": (np.int64(2), float("inf"))}) == {
        "a": None,
        "b": [2, None],
    }


def test_effective_sample_and_exact_tests():
    assert effective_index(np.array([0, 1, 2, 5, 9, 10, 14, 30]), 5).tolist() == [0, 3, 5, 7]
    assert binomial_upper_tail(9, 10) == pytest.approx(11 / 1024)
    assert binomial_upper_tail(0, 10) == 1.0 and binomial_upper_tail(11, 10) == 0.0
    a = np.array([True] * 12 + [False] * 3 + [True] * 5)
    b = np.array([False] * 12 + [True] * 3 + [True] * 5)
    test = mcnemar(a, b)  # 12 pairs only a got right, 3 only b: P(X >= 12 | 15) = 576/32768
    assert (test.a_only, test.b_only, test.n) == (12, 3, 20)
    assert test.p_greater == pytest.approx(576 / 32768)
    assert test.p_two_sided == pytest.approx(2 * 576 / 32768)
    assert mcnemar(b, a).p_greater > 0.99 and mcnemar(a, a).p_two_sided == 1.0


def test_block_bootstrap_interval_is_paired_and_reproducible():
    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 0.01, 500)
    pair = np.column_stack([base + 0.002, base])  # a beats b by 0.2 % every bar, same noise
    diff = block_bootstrap_ci(pair, lambda x: compounded(x[..., 0]) - compounded(x[..., 1]), 10)
    assert diff is not None and diff[0] > 0  # the pairing removes the shared noise
    again = block_bootstrap_ci(pair, lambda x: compounded(x[..., 0]) - compounded(x[..., 1]), 10)
    assert diff == again
    alone = block_bootstrap_ci(base, compounded, 10)
    assert alone is not None and alone[0] < 0 < alone[1]


# --- costs and fills --------------------------------------------------------------------------


def test_asset_classes_and_cost_settings():
    symbols = ("GOOG", "INFY.NS", "EURUSD=X", "GBPUSD", "BTC-USD", "BRK-B")
    assert [asset_class(s) for s in symbols] == ["equity", "equity", "fx", "fx", "crypto", "equity"]
    settings = make_settings(Path("unused"), trading_costs_bps="fx=0.2/0.3", asset_classes="XAUUSD=fx")
    assert costs_for(settings, "XAUUSD") == TradingCosts(0.2, 0.3, "fx")
    assert costs_for(settings, "GOOG") == TradingCosts(2.0, 2.0, "equity")  # the documented default
    costs = TradingCosts(10.0, 20.0)
    long_net = costs.net_return(np.array([100.0]), np.array([110.0]), np.array([1]))[0]
    assert long_net == pytest.approx(
        (110 * 0.998 - 100 * 1.002 - 0.001 * (100 * 1.002 + 110 * 0.998)) / 100.2
    )
    short_net = costs.net_return(np.array([100.0]), np.array([90.0]), np.array([-1]))[0]
    assert short_net == pytest.approx((100 * 0.998 - 90 * 1.002 - 0.001 * (99.8 + 90.18)) / 99.8)


def test_gap_through_the_stop_fills_at_the_open_with_costs_and_marked_to_market_drawdown():
    """The issue's check: a gap through the stop, costs, and drawdown while a trade is open."""
    bars = ohlc_bars(
        [
            (100, 100, 100, 100),  # 0: BUY at the close, target 105, stop 90
            (100, 100, 93, 94),  # 1: the open trade is down 6 % at this close
            (94, 95, 93, 95),
            (104, 106, 103, 105),  # 3: target touched (open 104 below it): filled at 105
            (105, 105, 104, 104),  # 4: BUY at 104, target 110, stop 102
            (103, 104, 102.5, 103),
            (101, 101.5, 100, 101),  # 6: opens below the stop: filled at the open, 101, not 102
            (101, 101, 101, 101),
        ]
    )
    positions = np.arange(8)
    direction = np.array([1, 0, 0, 0, 1, 0, 0, 0])
    target = np.array([105.0, 0, 0, 0, 110.0, 0, 0, 0])
    stop = np.array([90.0, 0, 0, 0, 102.0, 0, 0, 0])
    exits = resolve_exits(bars, np.array([0, 4]), np.array([1, 1]), target[[0, 4]], stop[[0, 4]], 10)
    assert exits.reason.tolist() == ["target", "stop"] and exits.position.tolist() == [3, 6]
    assert exits.price.tolist() == [105.0, 101.0] and exits.gapped.tolist() == [False, True]

    costs = TradingCosts(commission_bps=10.0, slippage_bps=20.0)
    result = follow_signals(bars, positions, direction, target, stop, 10, costs)
    # Trade 1: in at 100.2 (slippage), out at 104.79, fees 0.1 % of both sides; trade 2 likewise.
    assert result.returns.tolist() == pytest.approx([0.0437626, -0.0346903], abs=1e-6)
    assert result.gap_fills == 1 and result.fees > 0
    assert result.pnl == pytest.approx(1.0437626 * (1 - 0.0346903) - 1, abs=1e-6)
    # Marked to market: bar 1's close puts the first (winning) trade 6.3 % under water; counting
    # only exits the deepest fall would be the second trade's 3.5 %.
    assert result.bar_equity[1] == pytest.approx(0.9371238, abs=1e-6)
    assert result.max_drawdown == pytest.approx(0.0628762, abs=1e-6)
    assert result.equity_curve[1] == [bars.index[1].isoformat(), pytest.approx(0.937124, abs=1e-6)]
    free = follow_signals(bars, positions, direction, target, stop, 10)
    assert free.returns.tolist() == pytest.approx([0.05, 101 / 104 - 1])  # the gap, without costs


def test_short_gap_through_the_target_gains_the_gap():
    bars = ohlc_bars([(100, 100, 100, 100), (99, 99.5, 98, 99), (93, 94, 92, 93)])
    exits = resolve_exits(bars, np.array([0]), np.array([-1]), np.array([95.0]), np.array([104.0]), 5)
    assert (exits.reason[0], exits.price[0], bool(exits.gapped[0])) == ("target", 93.0, True)


# --- calibration --------------------------------------------------------------------------------


def test_isotonic_calibration_is_monotone_and_stored_as_plain_numbers():
    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    kx, ky = isotonic_fit(x, y)
    assert kx.tolist() == [0.1, 0.1, 0.2, 0.3, 0.4, 0.6]  # PAV pools 0.2 and 0.3
    assert ky.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.5, 1.0, 400)
    hit = rng.uniform(size=400) < 0.3 + 0.2 * (raw - 0.5)  # overconfident: 30-40 % right
    spec = fit_map(raw, hit)
    assert spec["method"] == "isotonic" and spec["n"] == 400 and len(spec["x"]) <= 64
    grid = calibrate({"calls": spec}, np.ones(50), np.linspace(0.5, 1.0, 50))
    assert np.all(np.diff(grid) >= 0) and grid.min() >= 0.0 and grid.max() <= 1.0
    out = calibrate({"calls": spec}, np.ones(400), raw)
    assert out.mean() == pytest.approx(hit.mean(), abs=0.01)  # on average what came true, not 75 %
    assert np.median(out) < 0.5
    thin = fit_map(raw[:10], hit[:10])
    assert thin == {
        "method": "constant",
        "n": 10,
        "value": pytest.approx((hit[:10].sum() + 1) / 12, abs=1e-6),
    }
    assert calibrate(None, np.ones(2), np.array([0.7, 0.9])).tolist() == [0.7, 0.9]


# --- reality metrics --------------------------------------------------------------------------


def test_reality_metrics_use_the_bars_on_every_bar():
    rng = np.random.default_rng(3)
    bars = bars_from_closes(list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))), spread=0.002)
    positions = np.arange(100, 280)
    realised = realised_returns(bars, positions, 5)
    for sign, expected in ((1.0, 1.0), (-1.0, 0.0)):
        er = sign * realised
        pred = Predictions(
            np.sign(er).astype(np.int8),
            er,
            np.full_like(er, 0.02),
            np.full_like(er, 0.02),
            np.full_like(er, 0.65),
        )
        score = reality(bars, positions, 5, pred)
        m = score.metrics
        assert m["directional_accuracy"] == expected and m["directional_accuracy_n"] == len(positions)
        assert m["directional_effective_n"] == 36  # one bar in five
        lo, hi = m["directional_accuracy_ci"]
        assert lo <= expected <= hi
        assert (lo, hi) == tuple(wilson_interval(expected * 36, 36))  # as wide as 36 points allow
        assert m["information_coefficient"] == pytest.approx(sign)
        assert 0.5 <= m["baseline_directional_accuracy"] <= 1.0
        assert (m["directional_edge_p_value"] < 0.001) == (sign > 0)
        assert m["calibration"]["0.6-0.7"]["count"] == len(positions)
        assert {"baseline_hit_rate", "baseline_pnl", "pnl", "max_drawdown", "costs"} <= set(m)
    levels = (np.full_like(realised, v) for v in (0.02, 0.02, 0.65))
    perfect = reality(bars, positions, 5, Predictions(np.sign(realised).astype(np.int8), realised, *levels))
    m = perfect.metrics
    assert m["price_error"] == pytest.approx(0.0, abs=1e-9) and m["price_error_baseline"] > 0.005
    # Bars whose horizon runs past the last bar have no realised direction and are counted as such.
    late = np.array([290, 297])
    zeros = np.zeros(2)
    pred = Predictions(np.ones(2, dtype=np.int8), zeros + 0.01, zeros + 0.02, zeros + 0.02, zeros + 0.6)
    m = reality(bars, late, 5, pred).metrics
    assert m["directional_accuracy_n"] == 1 and m["directional_unknown"] == 1
