"""Own markets on the pages, through Streamlit's AppTest on real SQLite: FX prices at 5 decimals in
the cards and tables, date-range presets, a failed automatic job explained on the chart and in
full on the Training page, the gate's word in Models, the experiment, the Data page's symbol form
and a link naming an unknown timeframe."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.jobs import store as job_store
from core.learning import demotion
from core.registry.activation import activate, deactivate
from core.registry.versions import list_versions
from core.settings import load_settings
from tests.dashboard.conftest import chart_data, open_app, texts
from tests.support.servers import wait_until

EURUSD = {"symbol": "EURUSD", "tf": "1h"}
FIVE = re.compile(r"^\d\.\d{5}$")


def _ctx() -> Context:
    return Context.create(load_settings(), logs=False)


def _frame(at, column: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _figure(at) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _wait_idle(ctx: Context, timeout: float = 60) -> list[job_store.JobView]:
    def idle() -> list[job_store.JobView] | None:
        jobs = job_store.list_jobs(ctx.db)
        return jobs if jobs and all(not j.active for j in jobs) else None

    return wait_until(
        idle, timeout=timeout, interval=0.2, message=lambda: f"the jobs to end: {job_store.list_jobs(ctx.db)}"
    )


def test_an_fx_pair_shows_five_decimals_on_the_axis_the_cards_and_the_tables(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    at = open_app(query=EURUSD)
    page = texts(at)
    assert re.search(r"Target \d\.\d{5} \(", page) and re.search(r"Stop \d\.\d{5} \(", page)
    assert re.search(r"as of [\d-]+ [\d:]+ UTC at \d\.\d{5}", page)
    # The evidence behind the call: accuracy vs baseline with bars, independent points and the CI.
    assert re.search(r"Out of sample \*\*[\d.]+ %\*\* vs baseline [\d.]+ %", page)
    assert re.search(r"[\d,]+ bars · [\d,]+ independent · 95 % CI \d+–\d+ %", page)
    assert "Gate: " in page and "Live: " in page
    chart = chart_data(at)  # the chart's axis and hover format prices at the series' decimals
    assert chart.meta["decimals"] == 5
    # float32 holds every 5-decimal EURUSD price to well within a tick, so that is what is sent.
    assert chart.candles["close"].dtype == "float32"
    with _ctx().db.read() as session:
        stored = bar_store.load_bars(session, "EURUSD", "1h")
    sent = chart.candles["close"].to_numpy(dtype="float64").round(5)
    assert len(sent) == len(stored) and (sent == stored["close"].to_numpy().round(5)).all()
    assert chart.candle_bytes / len(sent) <= 48  # columnar float32: about 24 bytes a candle
    samples = open_app("samples", EURUSD)
    trades = _frame(samples, "Entry")
    assert list(trades.columns[:5]) == ["Predicted (UTC)", "Model", "Call", "Status", "P&L"]
    assert trades["Entry"].str.match(FIVE).all() and trades["Exit price"].str.match(FIVE).all()
    labels = open_app("labels", EURUSD)
    table = _frame(labels, "Entry")
    assert table["Entry"].str.match(FIVE).all() and table["Target"].str.match(FIVE).all()


def test_a_range_link_opens_the_chart_on_that_span_and_offers_presets_that_fit(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    at = open_app(query=EURUSD)
    opening = chart_data(at).meta
    assert opening["view"]["candles"] == 1_000 and opening["view"]["range"] is None
    assert not opening["view_pinned"]
    assert opening["presets"][:3] == ["1D", "1W", "1M"] and opening["presets"][-1] == "All"
    linked = open_app(query={**EURUSD, "range": "1W"})
    meta = chart_data(linked).meta
    assert meta["view"]["range"] == "1W" and meta["view"]["candles"] is None and meta["view_pinned"]
    assert linked.query_params["range"] == "1W"


def test_a_failed_automatic_job_is_explained_on_the_chart_and_not_requeued(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    tiny = {"symbol": "TINY", "tf": "1d"}
    open_app(query=tiny)
    ctx = _ctx()
    (job,) = [j for j in _wait_idle(ctx) if j.symbol == "TINY"]
    assert job.kind == "quick" and job.status == "failed" and "not enough bars" in (job.error or "")
    at = open_app(query=tiny)  # a new visit: explained, not queued again
    assert len(job_store.list_jobs(ctx.db, symbol="TINY")) == 1
    alert = next(e.value for e in at.error if "last automatic training" in e.value)
    assert f"job {job.job_id}" in alert and "not re-queued" in alert and "Retrain now" in alert
    assert any(c.value == job.error for c in at.code)  # the whole message, under an expander
    training = open_app("training", tiny)
    assert any(c.value == job.error for c in training.code)
    assert {"LLM calls", "Attempts", "LLM cost"} <= {m.label for m in training.metric}
    listed = _frame(training, "Result / error")
    assert listed["Status"].tolist()[0] == "failed" and listed["LLM cost"].tolist()[0] == "$0.00"


def test_models_and_job_results_carry_the_gates_verdict_and_reason(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    at = open_app("models", EURUSD)
    table = _frame(at, "Gate")
    assert table["Version"].tolist() == ["xgb_agent v1"]
    assert table["Gate"].tolist()[0] in {"promoted", "no evidence of an edge", "below its baseline"}
    at.session_state["versions_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # one row selected: its panel has the gate's reason and the independent points
    page = texts(at) + " ".join(str(t.value) for t in at.text)
    assert "Gate's reason" in page and "Independent points" in page
    assert len(at.text[-1].value) > 20  # the reason, last in the panel, as plain text
    training = open_app("training", EURUSD)
    versions = _frame(training, "Gate")
    assert versions["Version"].tolist() == ["xgb_agent v1"] and versions["Live"].tolist() == ["yes"]
    assert versions["Independent"].str.match(r"^[\d,]+$").all()
    assert "xgb_agent v1, the gate's reason:" in texts(training)
    assert "xgb_agent v1 live (" in texts(training)


def test_the_experiment_page_shows_labelers_side_by_side(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    at = open_app("experiments", EURUSD)
    results = _frame(at, "Labeler")
    assert set(results["Labeler"]) == {"rules", "next_price"} and set(results["Bot"]) == {"xgb_agent"}
    assert results["Accuracy (95 % CI)"].str.match(r"^\d+ % \(\d+–\d+ %\)$").all()
    assert results["Points"].str.match(r"^[\d,]+$").all()
    at.session_state["experiment_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # the selected row's panel: the numbers the table leaves out
    panel = texts(at) + " ".join(str(t.value) for t in at.text)
    assert "Hit rate" in panel and "Max drawdown" in panel and "% on 1," in panel
    assert results["p (edge)"].str.match(r"^(< 0\.001|0\.\d{3}|1\.000)$").all()
    pairs = _frame(at, "p (McNemar)")
    assert pairs["Labelers"].tolist() == ["rules vs next_price"]
    curves = _figure(at)["data"]
    assert len(curves) == 2 and curves[0]["line"]["color"] != curves[1]["line"]["color"]


def test_the_data_page_adds_a_typed_symbol_and_refuses_a_bad_one(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    at = open_app("data", EURUSD)
    stored = _frame(at, "Timeframe")
    assert {"EURUSD", "TINY"} <= {re.sub(r".*symbol=([^&]+)&.*", r"\1", s) for s in stored["Symbol"]}
    at.text_input(key="add_symbol_name").set_value("../etc")
    at.button[0].click().run()  # the form's Fetch button
    assert any("Nothing was stored" in e.value for e in at.error)
    assert any("invalid symbol" in c.value for c in at.code)
    assert ("../ETC", "1d") not in bar_store.list_pairs(_ctx().db)
    at.text_input(key="add_symbol_name").set_value("tcs.ns")
    at.button[0].click().run()
    assert not at.exception
    assert any("TCS.NS 1d" in s.value for s in at.success), [c.value for c in at.code]
    assert at.selectbox(key="symbol").value == "TCS.NS"  # the new series is the one selected


def test_a_link_with_an_unknown_timeframe_gets_a_notice(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    at = open_app("models", {"symbol": "EURUSD", "tf": "2h"})
    notice = next(w.value for w in at.warning if "unknown timeframe" in w.value)
    assert "`2h`" in notice and "Showing EURUSD · 1h" in notice
    assert at.title[0].value == "Models · EURUSD · 1h"


def test_a_demoted_version_is_noticed_on_the_chart_until_its_bot_is_live_again(
    dashboard_home: Callable[[Path | None], Path], markets_template: Path
) -> None:
    dashboard_home(markets_template)
    ctx = _ctx()
    (version,) = [v for v in list_versions(ctx.db, symbol="EURUSD", timeframe="1h") if v.is_active]
    reason = "demoted: live accuracy 20.0 % on 30 non-overlapping closed trades is below its baseline's"
    assert deactivate(ctx, version.version_id, actor=demotion.ACTOR, reason=reason)
    at = open_app(query=EURUSD)
    notice = next(e.value for e in at.error if "demoted automatically" in e.value)
    assert f"**{version.label}** was demoted" in notice and reason in notice  # "xgb_agent v1", no bare id
    assert "#" not in notice
    assert "No model good enough yet" in texts(at)
    activate(ctx, version.version_id, actor="test")
    at.run()
    assert not any("demoted automatically" in e.value for e in at.error)
