"""Fixtures for the dashboard: a real SQLite home per test, copied from templates built once.

`trained_template` holds GOOG daily bars, one rule-labeled set, two xgb_agent versions (the first
active, the second not) and a handful of paper-trade samples, so pages have something to show.
Every test gets its own copy, points CANDLELAB_HOME at it and drives `dashboard/app.py`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.db.database import forget_database
from core.learning.samples import record_execution_outcome, update_outcome_with_pnl
from core.logging_setup import reset_logging
from core.training.service import train_pair as train
from tests.conftest import GOOG_CSV, REPO, make_settings
from tests.dashboard import markets

APP = REPO / "dashboard" / "app.py"
# Small quick trainings: one fast bot on enough daily points to train on.
QUICK_ENV = {
    "QUICK_BOTS": "xgb_agent",
    "QUICK_SAMPLES": "60",
    "QUICK_LOOKBACK_DAYS": "3000",
    "DASHBOARD_SCHEDULER": "false",
}


def _checkpointed(home: Path) -> Path:
    forget_database(make_settings(home).db_url)  # closing the last connection folds the WAL in
    return home


@pytest.fixture(scope="session")
def goog_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("goog_home")
    ctx = Context.create(make_settings(home), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    return _checkpointed(home)


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("trained_home")
    ctx = Context.create(make_settings(home), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    labeling = {"lookback_days": 3000, "samples": 80, "labeler": "rules", "sampling": "uniform"}
    first = train(ctx, "GOOG", "1d", bots=["xgb_agent"], labeling=labeling, activate="always")
    train(ctx, "GOOG", "1d", bots=["xgb_agent"], label_set_id=first.label_set_id, activate="never", seed=1)
    version_id = first.versions[0].version_id
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, "GOOG", "1d", limit=40)
    for i, (ts, row) in enumerate(bars.iloc[:-10:3].iterrows()):
        rec = "BUY" if i % 2 == 0 else "SELL"
        sample = record_execution_outcome(
            ctx,
            symbol="GOOG",
            timeframe="1d",
            bot="xgb_agent",
            version_id=version_id,
            recommendation=rec,
            confidence=0.6 + 0.03 * i,
            entry_price=float(row["close"]),
            predicted_at=ts.to_pydatetime(),
            target=float(row["close"]) * (1.02 if rec == "BUY" else 0.98),
            stop_loss=float(row["close"]) * (0.99 if rec == "BUY" else 1.01),
            features={"rsi_14": 0.4 + 0.01 * i, "ret_1": 0.001 * i},
        )
        if i < 8:
            exit_price = float(row["close"]) * (1.01 if i % 3 else 0.99)
            update_outcome_with_pnl(
                ctx,
                sample,
                exit_price=exit_price,
                exit_time=(ts + timedelta(days=3)).to_pydatetime(),
                exit_reason="timeout",
            )
    return _checkpointed(home)


@pytest.fixture
def dashboard_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Path | None], Path]]:
    """Point the dashboard at a copy of a template (or an empty home) with small quick trainings."""
    homes: list[Path] = []
    # `make run` and the repo's config.toml serve 127.0.0.1; AppTest reads no config file.
    address = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")

    def use(template: Path | None) -> Path:
        home = tmp_path / "home"
        if template is not None:
            shutil.copytree(template, home)
        else:
            home.mkdir()
        for name, value in {**QUICK_ENV, "CANDLELAB_HOME": str(home)}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(home)  # no stray .env from a developer's checkout
        homes.append(home)
        return home

    yield use
    st_config.set_option("server.address", address)
    st.cache_resource.clear()  # shuts the runtime's runner down (on_release)
    reset_logging()
    for home in homes:
        forget_database(make_settings(home).db_url)


def open_app(page: str | None = None, query: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
    """Run the app once (optionally on a page and with URL parameters) and fail on any exception."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if query:
        at.query_params = dict(query)
    if page:  # before the first run, so the chart page (which may start training) never runs
        at.switch_page(f"../pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@dataclass
class ChartData:
    """What the candle component received: its parts, its metadata, and the candles as sent."""

    parts: list[str]  # the data's top-level keys
    meta: dict[str, Any]
    candles: pd.DataFrame
    candle_bytes: int  # the candles' Arrow message on the wire


def chart_data(at: AppTest) -> ChartData:
    """The candle chart's payload, decoded as the browser decodes it (JSON plus Arrow columns)."""
    charts = all_chart_data(at)
    assert len(charts) == 1, f"{len(charts)} candle charts on the page"
    return charts[0]


def all_chart_data(at: AppTest) -> list[ChartData]:
    """Every candle chart's payload on the page, in page order."""
    out = []
    for chart in at.get("bidi_component"):
        mixed = chart.proto.mixed
        data = json.loads(mixed.json)
        blobs = {k: v.data for k, v in mixed.arrow_blobs.items()}

        def frame(ref: dict[str, str], blobs: dict[str, bytes] = blobs) -> tuple[pd.DataFrame, int]:
            blob = blobs[ref["__streamlit_arrow_ref__"]]
            return pa.ipc.open_stream(blob).read_all().to_pandas(), len(blob)

        candles, size = frame(data["candles"])
        out.append(ChartData(sorted(data), data["meta"], candles, size))
    return out


def texts(at: AppTest) -> str:
    """Every piece of text on the page, for `in` checks."""
    parts = [
        e.value
        for kind in (
            "title",
            "subheader",
            "markdown",
            "caption",
            "info",
            "warning",
            "success",
            "error",
            "header",
        )
        for e in getattr(at, kind)
    ]
    parts += [str(m.label) + " " + str(m.value) for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.fixture(scope="session")
def markets_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Own markets: EURUSD 1h from a TradingView export with a live model, trades and an experiment."""
    home = tmp_path_factory.mktemp("markets_home")
    ctx = Context.create(make_settings(home), logs=False)
    markets.build(ctx, tmp_path_factory.mktemp("markets_files"))
    return _checkpointed(home)
