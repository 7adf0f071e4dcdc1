"""The Labels page draws its candle charts with the Chart page's component: the set's stretch of
history with every accepted label as a marker carrying its details, and one label's path with its
entry, target and stop as price lines; Plotly is left for the analysis figures. Through AppTest
on real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.settings import load_settings
from core.views import labels as label_views
from tests.dashboard.conftest import all_chart_data, chart_data, open_app

GOOG = {"symbol": "GOOG", "tf": "1d"}


def test_the_label_set_is_drawn_on_the_candle_chart_with_a_marker_per_label(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("labels", GOOG)
    chart = chart_data(at)
    ctx = Context.create(load_settings(), logs=False)
    (chosen,) = label_views.label_sets(ctx, "GOOG", "1d")
    table = label_views.labels_table(ctx, chosen.id)
    accepted = table[table["status"] == "accepted"]
    marks = chart.meta["markers"]["labels"]
    assert len(marks) == len(accepted) == 80
    times = chart.candles["t"].to_numpy()
    stamps = pd.DatetimeIndex(accepted["ts"]).as_unit("s").asi8
    assert sorted(m["time"] for m in marks) == sorted(stamps)  # daily labels sit on their own candle
    assert all(m["detail"].startswith(f"{m['detail'].split()[0]} label · confidence ") for m in marks)
    assert {m["detail"].split()[0] for m in marks} <= {"BUY", "SELL", "HOLD"}
    # The set's stretch of history, 30 candles either side, not the whole series.
    with ctx.db.read() as session:
        stored = bar_store.load_bars(session, "GOOG", "1d").index.as_unit("s").asi8
    first, last = list(stored).index(stamps.min()), list(stored).index(stamps.max())
    assert times[0] == stored[max(0, first - 30)] and times[-1] == stored[min(len(stored) - 1, last + 30)]
    assert len(times) < len(stored)
    assert chart.meta["view"]["overlays"] == ["Labels"] and chart.meta["view_pinned"]
    assert chart.meta["decimals"] >= 2
    # Plotly draws no candles here: its one figure, the calibration, waits in its own tab.
    assert not at.get("plotly_chart")
    assert {m["detail"].rsplit(" · outcome ", 1)[1] for m in marks} <= {
        "target first",
        "stop first",
        "neither",
        "pending",
        "not scored",
    }
    # One label in full: its bars to past the horizon, its entry, target and stop as price lines.
    at.session_state["labels_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    whole, path = all_chart_data(at)
    assert path.meta["pair"] == whole.meta["pair"] and len(path.candles) < len(whole.candles)
    assert [level["kind"] for level in path.meta["levels"]] == ["entry", "target", "stop"]
    (mark,) = path.meta["markers"]["labels"]
    assert path.candles["t"].iat[0] <= mark["time"] <= path.candles["t"].iat[-1]
    assert not at.get("plotly_chart")
