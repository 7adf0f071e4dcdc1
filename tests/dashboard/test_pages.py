"""Each page's main path and its empty states, run through Streamlit's AppTest on real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.context import Context
from core.jobs import store as job_store
from core.registry.activation import activate
from core.registry.versions import list_versions
from core.settings import load_settings
from core.views.samples import SampleFilter
from dashboard.components.sample_panels import table_key
from tests.dashboard.conftest import chart_data, open_app, texts
from tests.support.servers import wait_until

GOOG = {"symbol": "GOOG", "tf": "1d"}


def _ctx() -> Context:
    return Context.create(load_settings(), logs=False)


def _wait_for_jobs(ctx: Context, timeout: float = 90) -> list[job_store.JobView]:
    def ended() -> list[job_store.JobView] | None:
        jobs = job_store.list_jobs(ctx.db)
        return jobs if jobs and all(j.status not in job_store.ACTIVE_STATUSES for j in jobs) else None

    return wait_until(
        ended,
        timeout=timeout,
        interval=0.2,
        message=lambda: f"the jobs to end: {job_store.list_jobs(ctx.db)}",
    )


def test_chart_opens_the_pair_in_the_url_and_keeps_it_there(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app(query=GOOG)
    assert at.subheader[0].value == "GOOG"
    assert at.selectbox(key="symbol").value == "GOOG" and at.selectbox(key="tf").value == "1d"
    assert at.query_params == {"symbol": "GOOG", "tf": "1d"}
    page = texts(at)
    assert "Imported · last bar 2013-03-01" in page
    # The active model's latest call is on the page, as a card naming the bot and its own version.
    assert "**xgb_agent v1**" in page and "Confidence" in page
    chart = chart_data(at)  # every stored bar, sent once for the browser to scroll and zoom
    assert len(chart.candles) == 2_148 and chart.meta["title"] == "GOOG · 1d"
    # The candles travel alone: the browser computes the indicators from their closes.
    assert chart.parts == ["candles", "meta"]
    assert list(chart.candles.columns) == ["t", "open", "high", "low", "close", "volume"]


def test_opening_a_stale_pair_starts_quick_training_once_and_shows_the_new_signal(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app(query=GOOG)
    ctx = _ctx()
    jobs = job_store.list_jobs(ctx.db)
    assert (
        len(jobs) == 1 and jobs[0].kind == "quick" and jobs[0].requested_by == "local"
    )  # the local dashboard user
    assert jobs[0].params["bots"] == ["xgb_agent"]
    assert "No active model" in texts(at)  # nothing trained yet
    at.run()  # a rerun of the same view does not trigger again
    assert len(job_store.list_jobs(ctx.db)) == 1
    done = _wait_for_jobs(ctx)
    assert done[0].status == "succeeded", done[0].error
    at.run()
    assert not at.exception
    (version,) = list_versions(ctx.db, symbol="GOOG", timeframe="1d")
    # Without out-of-sample evidence the new version does not go live on its own ...
    assert version.bot == "xgb_agent" and not version.is_active and version.gate_verdict != "promote"
    page = texts(at)
    assert "No model good enough yet" in page and "Best candidate: **xgb_agent v1**" in page
    activate(ctx, version.version_id, actor="test")  # ... until a person activates it
    at.run()
    page = texts(at)
    assert "**xgb_agent v1**" in page and "Models" in page


def test_retrain_now_starts_a_job_even_when_models_are_fresh(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    ctx = _ctx()
    with ctx.db.session() as session:  # make the active model fresh, so only the button can start a job
        from sqlalchemy import update

        from core.db.models import AIModelVersion
        from core.db.types import utcnow

        session.execute(update(AIModelVersion).values(created_at=utcnow()))
    at = open_app(query=GOOG)
    assert job_store.list_jobs(ctx.db) == []
    at.button[0].click().run()
    jobs = job_store.list_jobs(ctx.db)
    assert len(jobs) == 1 and jobs[0].requested_by == "local"
    assert _wait_for_jobs(ctx)[0].status == "succeeded"


def test_chart_of_a_pair_without_bars_says_how_to_get_them(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app(query={"symbol": "MSFT", "tf": "1d"})
    assert "No 1d bars stored for MSFT" in texts(at)
    assert at.button[0].label == "Fetch bars"
    assert job_store.list_jobs(_ctx().db) == []


def test_an_empty_store_is_bootstrapped_with_the_demo_data(
    dashboard_home: Callable[[Path | None], Path],
) -> None:
    dashboard_home(None)
    at = open_app(query={"symbol": "TCS.NS", "tf": "5m"})
    assert "Synthetic" in texts(at)
    assert set(at.selectbox(key="symbol").options) >= {"GOOG", "INFY.NS", "TCS.NS", "RELIANCE.NS"}
    _wait_for_jobs(_ctx(), timeout=120)  # the chart view started a quick training: let it end


def test_models_page_lists_versions_with_counts_and_baseline(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("models", GOOG)
    table = next(df.value for df in at.dataframe if "Version" in df.value.columns)
    assert list(table["Version"]) == ["xgb_agent v2", "xgb_agent v1"]
    assert list(table["Active"]) == [False, True]
    assert table["Accuracy (95 % CI)"].str.match(r"^\d+ % \(\d+–\d+ %\)$").all()
    assert table["Points"].str.match(r"^[\d,]+$").all()
    assert table["Baseline"].str.endswith("%").all()
    assert "Activation history" in texts(at)


def test_models_page_compares_two_versions_and_activates_one(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("models", GOOG)
    at.session_state["versions_table"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert "Comparing xgb_agent v2, xgb_agent v1" in texts(at)
    assert [t.label for t in at.tabs][:3] == ["Metrics", "Parameters & lineage", "Equity curves"]
    metrics = at.dataframe[1].value
    assert list(metrics.columns) == ["xgb_agent v2", "xgb_agent v1"]
    assert "Naive baseline" in metrics.index
    at.toggle(key="cmp_diff_only").set_value(True).run()
    assert len(at.dataframe[1].value) <= len(metrics)
    at.button(key="activate").click().run()
    at.button(key="confirm_activate").click().run()
    assert not at.exception
    ctx = _ctx()
    active = [v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active]
    assert active == [2]
    # The timeline shows the switch and offers the rollback to v1, which asks first.
    rollback = at.button(key="rollback-xgb_agent")
    assert "xgb_agent v2 → xgb_agent v1" in rollback.label
    rollback.click().run()
    assert "becomes active again" in texts(at)
    at.button(key="cancel_rollback").click().run()
    active = [v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active]
    assert active == [2]  # cancelled: nothing changed
    at.button(key="rollback-xgb_agent").click().run()
    at.button(key="confirm_rollback").click().run()
    assert not at.exception
    active = [v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active]
    assert active == [1]


def test_models_page_without_versions_says_what_to_do(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app("models", GOOG)
    assert "No model versions for GOOG · 1d yet" in texts(at)


def test_labels_page_shows_quality_table_and_one_label_in_full(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("labels", GOOG)
    page = texts(at)
    assert "Target before stop" in page and "scored BUY/SELL labels" in page
    labels = next(df.value for df in at.dataframe if "Outcome" in df.value.columns)
    assert len(labels) == 80 and set(labels["Call"]) <= {"BUY", "SELL", "HOLD"}
    # The comparison with other labelers and the calibration figure run only in their own tabs.
    assert not [df for df in at.dataframe if "Against" in df.value.columns] and not at.get("plotly_chart")
    at.session_state["labels_view"] = "Agreement"
    at.run()
    agreement = next(df.value for df in at.dataframe if "Against" in df.value.columns)
    assert list(agreement["Against"]) == ["hindsight"]
    assert not at.get("bidi_component")  # the closed Chart tab draws nothing
    at.session_state["labels_view"] = "Calibration"
    at.run()
    assert len(at.get("plotly_chart")) == 1  # the calibration figure
    assert "Calibration" in texts(at) and "Against" not in str([df.value.columns for df in at.dataframe])
    at.pills(key="label_recs").set_value(["BUY"]).run()
    only_buy = next(df.value for df in at.dataframe if "Outcome" in df.value.columns)
    assert set(only_buy["Call"]) == {"BUY"} and len(only_buy) < 80
    at.session_state["labels_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    page = texts(at)
    assert "Valid: BUY" in page and "Reasoning" in page and "What the price did next" in page


def test_labels_page_opens_the_set_a_labeling_just_started(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("labels", GOOG)
    (first,) = at.selectbox(key="label_set").options
    at.button[[b.label for b in at.button].index("Start labeling")].click().run()
    assert not at.exception
    _wait_for_jobs(_ctx())
    at.run()
    shown = at.selectbox(key="label_set")
    assert len(shown.options) == 2 and shown.value.id != int(first.split(" ")[0].lstrip("#"))
    assert shown.value.id == max(int(o.split(" ")[0].lstrip("#")) for o in shown.options)


def test_labels_page_without_label_sets_says_what_to_do(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app("labels", GOOG)
    assert "No label sets for GOOG · 1d yet" in texts(at)


def test_samples_page_filters_pages_and_exports(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("samples", GOOG)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Matching samples"] == "10" and metrics["Closed"] == "8"
    rows = next(df.value for df in at.dataframe if "Call" in df.value.columns)
    assert len(rows) == 10
    assert list(rows.columns[:6]) == ["Predicted (UTC)", "Model", "Call", "Status", "P&L", "Exit"]
    assert at.get("download_button")
    # A row selected, then a filter that still lists it: the same sample stays selected and shown.
    at.session_state[table_key(SampleFilter(symbol="GOOG"), 1)] = {
        "selection": {"rows": [1], "columns": [], "cells": []}
    }
    at.run()
    chosen = texts(at).split("Sample #")[1].split(" ")[0]
    at.selectbox(key="samples_bot").set_value("xgb_agent").run()
    page = texts(at)
    assert f"Sample #{chosen} " in page and "**Prediction**" in page and "Not among" not in page
    at.selectbox(key="samples_outcome").set_value("win").run()
    assert {m.label: m.value for m in at.metric}["Matching samples"] != "10"


def test_samples_page_without_samples_says_what_to_do(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app("samples", GOOG)
    assert "No training samples recorded yet" in texts(at)


def test_training_page_estimates_starts_and_lists_a_job(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app("training", GOOG)
    page = texts(at)
    assert "No LLM cost" in page and "LLM spend today (UTC) $0.00" in page
    assert "Job details" not in [h.value for h in at.subheader]  # no heading over nothing
    schedule = next(df.value for df in at.dataframe if "Task" in df.value.columns)
    assert {"daily_retrain", "paper_tick", "staleness_sweep"} == set(schedule["Task"])
    at.number_input(key="train_lookback").set_value(3000)
    at.number_input(key="train_samples").set_value(60)
    at.multiselect(key="train_bots").set_value(["xgb_agent"])
    at.button[0].click().run()
    ctx = _ctx()
    jobs = job_store.list_jobs(ctx.db)
    assert len(jobs) == 1 and jobs[0].kind == "full" and jobs[0].request.labels.samples == 60
    done = _wait_for_jobs(ctx)
    assert done[0].status == "succeeded", done[0].error
    at.run()
    listed = next(df.value for df in at.dataframe if "Job" in df.value.columns)
    assert listed["Status"].tolist() == ["succeeded"]
    assert "Job details" in [h.value for h in at.subheader]
    assert at.selectbox(key="job_detail").value == jobs[0].job_id
    at.button[0].click().run()  # a second job: its details are shown at once, not the first's
    second = max(j.job_id for j in job_store.list_jobs(ctx.db))
    assert second != jobs[0].job_id and at.selectbox(key="job_detail").value == second
    _wait_for_jobs(ctx)


def test_a_configured_key_never_reaches_a_page(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path, monkeypatch
) -> None:
    """Provider status says only configured or not; the key is nowhere in what any page sends."""
    key = "fk-live-0123456789abcdefSECRET"
    dashboard_home(trained_template)
    for name, value in {
        "FREDDY_ENABLED": "true",
        "FREDDY_API_KEY": key,
        "FREDDY_ORGANIZATION_ID": "org-1",
        "FREDDY_ASSISTANT_ID": "asst-1",
    }.items():
        monkeypatch.setenv(name, value)
    for page in ("training", "labels", "models", "samples", None):
        at = open_app(page, GOOG)
        sent = "".join(str(node.proto) for node in at._tree.children.values() for node in _walk(node))
        assert sent, page
        assert key not in sent and key[:12] not in sent, page
        if page == "training":
            assert "LLM analyst: **configured** (freddy)" in texts(at)
            assert "Budget and providers" in sent  # the search does see the page's text


def _walk(node):  # type: ignore[no-untyped-def]
    """Every element of an AppTest tree (blocks and their children)."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)
