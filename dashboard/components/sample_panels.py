"""Samples page pieces: the filters (dates bounded by the data's own range), the trades table with
its key columns first and prices at each market's precision, and one sample in full.

The selected sample is remembered by id, not by row number: a filter or page change redraws the
table (under a key of its own, so no stale row index points at another trade) and selects the
same sample again when it is still listed; its details stay on screen either way.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time
from typing import Any

import pandas as pd
import streamlit as st

from core.views.prices import PriceFormat
from core.views.samples import OUTCOMES, FilterOptions, SampleFilter
from dashboard import formatting as fmt
from dashboard import session
from dashboard.state import Selection

ALL = "All"
SELECTED: session.Key[int] = session.Key("samples.selected")
EXIT_REASONS = {"target": "target hit", "stop": "stop hit", "timeout": "horizon ended"}


def _bounds(options: FilterOptions) -> tuple[date, date] | None:
    if options.first is None or options.last is None:
        return None
    return options.first.date(), options.last.date()


def filters(options: FilterOptions, sel: Selection) -> SampleFilter:
    """The filter row; the date range spans the recorded predictions, whatever their years."""
    # Fixed widths that wrap onto a second row on a narrow screen, so no filter shows a cut value.
    with st.container(border=True, horizontal=True, gap="small"):
        if session.widget_value("samples_symbol") not in [ALL, *options.symbols]:
            session.set_widget_value("samples_symbol", sel.symbol if sel.symbol in options.symbols else ALL)
        symbol = st.selectbox("Symbol", [ALL, *options.symbols], key="samples_symbol", width=170)
        bot = st.selectbox("Bot", [ALL, *options.bots], key="samples_bot", width=170)
        version = st.selectbox(
            "Version",
            [ALL, *options.version_ids],
            key="samples_version",
            width=170,
            format_func=lambda v: v if v == ALL else options.version_labels.get(v, "a removed version"),
        )
        outcome = st.selectbox("Outcome", [ALL, *OUTCOMES], key="samples_outcome", width=150)
        bounds = _bounds(options)
        dates = st.date_input(
            "Predicted between",
            value=(),
            min_value=bounds[0] if bounds else None,
            max_value=bounds[1] if bounds else None,
            key="samples_dates",
            width=240,
            help="UTC; leave empty for all dates"
            + (f" (recorded from {bounds[0]} to {bounds[1]})" if bounds else ""),
        )
    since = until = None
    if isinstance(dates, tuple | list) and len(dates) == 2:
        since = datetime.combine(dates[0], time.min, tzinfo=UTC)
        until = datetime.combine(dates[1], time.max, tzinfo=UTC)
    return SampleFilter(
        symbol=None if symbol == ALL else symbol,
        bot=None if bot == ALL else bot,
        version_id=None if version == ALL else int(version),
        outcome=None if outcome == ALL else outcome,
        since=since,
        until=until,
    )


def table_key(filters: SampleFilter, page_no: int) -> str:
    """The table's widget key: new for every filter and page, so its selection never goes stale."""
    digest = hashlib.sha1(repr((filters, page_no)).encode()).hexdigest()[:10]
    return f"samples_table.{digest}"


def _price_column(rows: pd.DataFrame, column: str, prices: dict[tuple[str, str], PriceFormat]) -> list[str]:
    return [
        prices.get((s, tf), PriceFormat(2, 0.01))(v)
        for s, tf, v in zip(rows["symbol"], rows["timeframe"], rows[column], strict=True)
    ]


def frame(
    rows: pd.DataFrame, prices: dict[tuple[str, str], PriceFormat], labels: dict[int, str]
) -> pd.DataFrame:
    """The trades as an analyst reads them: when, which model, the call, how it ended, then detail
    (target, stop and the features are in the selected row's panel: the table fits at 1440 px)."""
    return pd.DataFrame(
        {
            "Predicted (UTC)": rows["predicted_at"].map(fmt.when),
            "Model": [
                "—" if pd.isna(v) else labels.get(int(v), str(b))
                for b, v in zip(rows["bot"], rows["version_id"], strict=True)
            ],
            "Call": rows["recommendation"],
            "Status": rows["status"],
            "P&L": rows["pnl_pct"].map(lambda v: fmt.signed_pct(v, 2)),
            "Exit": rows["exit_reason"].map(lambda r: EXIT_REASONS.get(r, r) if isinstance(r, str) else "—"),
            "Entry": _price_column(rows, "entry_price", prices),
            "Exit price": _price_column(rows, "exit_price", prices),
            "Confidence": rows["confidence"].map(fmt.pct),
            "Pair": rows["symbol"] + " " + rows["timeframe"],
            "Source": rows["source"],
        }
    )


def table(shown: pd.DataFrame, ids: list[int], key: str) -> None:
    """The table; the remembered sample is selected again when it is on this page."""
    selected = SELECTED.get()
    default = {"selection": {"rows": [ids.index(selected)]}} if selected in ids else None
    event = st.dataframe(
        shown,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        selection_default=default,
        column_config={
            "Predicted (UTC)": st.column_config.TextColumn(pinned=True),
            "Model": st.column_config.TextColumn(pinned=True),
            "Call": st.column_config.TextColumn(width="small"),
            "P&L": st.column_config.TextColumn(width="small", help="After costs, in % of the entry"),
        },
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        SELECTED.set(ids[rows[0]])
    elif selected in ids:  # it was listed and selected, and the analyst cleared it
        SELECTED.pop()


def detail(d: dict[str, Any], prices: PriceFormat, label: str, listed: bool) -> None:
    st.subheader(f"Sample #{d['id']} · {label}", anchor=False)
    if not listed:
        st.caption("Not among the rows listed now (filters or page changed); still selected.")
    a, b, c = st.columns(3)
    a.markdown(
        f"**Prediction**  \n{d['recommendation']} at {prices(d['entry_price'])}, "
        f"confidence {fmt.pct(d['confidence'])}  \ntarget {prices(d['target'])} · "
        f"stop {prices(d['stop_loss'])}  \nexpected {fmt.signed_pct(d['predicted_return'], 2)}"
    )
    ended = (
        f": {EXIT_REASONS.get(d['exit_reason'], d['exit_reason'])} at {prices(d['exit_price'])}, "
        f"P&L {fmt.signed_pct(d['pnl_pct'], 2)}"
        if d["status"] == "closed"
        else ""
    )
    b.markdown(f"**Outcome**  \n{d['status']}{ended}")
    c.markdown(
        f"**When**  \npredicted {fmt.when(d['predicted_at'])} UTC  \nclosed {fmt.when(d['exit_time'])}"
    )
    features = pd.DataFrame({"Feature": list(d["features"]), "Value": list(d["features"].values())})
    st.dataframe(
        features,
        hide_index=True,
        key="sample_features",
        column_config={"Value": st.column_config.NumberColumn(format="%.4f")},
    )
