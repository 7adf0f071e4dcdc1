"""Data page pieces: the stored series, a CSV upload checked before it is stored, and a symbol typed
in and fetched from the configured provider.

An upload is checked once per file and timeframe (the whole file is read: format, span, precision,
gaps) and the check is kept for the session, so typing a symbol does not read the file again. A
file that fails the check or the import shows the message and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.services import data
from core.services.actors import Permission
from core.timeframes import SYMBOL_RULE, TIMEFRAMES, normalise_symbol
from core.views import market, uploads
from core.views.access import can
from core.views.uploads import UploadCheck
from dashboard import formatting as fmt
from dashboard import session
from dashboard.runtime import Runtime
from dashboard.state import switch_to

CHART_PAGE = Path(__file__).resolve().parents[2] / "pages" / "chart.py"
UPLOAD_CHECK: session.Key[tuple[str, str, UploadCheck | str]] = session.Key("data.upload_check")
JUST_STORED: session.Key[tuple[str, str, str]] = session.Key("data.just_stored")  # symbol, tf, message
UPLOADS_DONE: session.Key[int] = session.Key("data.uploads_done")  # a new uploader after each import
MAX_UPLOAD_MB = 500


def _refresh_pickers() -> None:
    """New series must reach the symbol picker and every cached read at once."""
    st.cache_data.clear()


def series_table(rt: Runtime) -> None:
    pairs = market.list_pairs(rt.ctx)
    if not pairs:
        st.caption("Nothing stored yet: import a CSV or add a symbol below.")
        return
    frame = pd.DataFrame(
        {
            "Symbol": [f"/?symbol={s.symbol}&tf={s.timeframe}" for s in pairs],
            "Timeframe": [s.timeframe for s in pairs],
            "Bars": [s.rows for s in pairs],
            "Data": [market.data_badge(s).label.split(" · ")[0] for s in pairs],
            "First bar (UTC)": [fmt.when(s.first) for s in pairs],
            "Last bar (UTC)": [fmt.when(s.last) for s in pairs],
            "Decimals": [s.precision.decimals if s.precision else None for s in pairs],
            "File": [s.file_name or "—" for s in pairs],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="series_table",
        column_config={
            "Symbol": st.column_config.LinkColumn(
                display_text=r"/\?symbol=([^&]+)&", help="Open its chart", pinned=True
            ),
            "Bars": st.column_config.NumberColumn(format="localized"),
            "Decimals": st.column_config.NumberColumn(help="Price precision derived from the bars"),
        },
    )


def _check(rt: Runtime, file: object, timeframe: str) -> UploadCheck | str:
    """The upload's check, from the session when this file and timeframe were checked already."""
    file_id = str(getattr(file, "file_id", getattr(file, "name", "")))
    kept = UPLOAD_CHECK.get()
    if kept is not None and kept[:2] == (file_id, timeframe):
        return kept[2]
    file.seek(0)  # type: ignore[attr-defined]
    try:
        with st.spinner("Reading the whole file…"):
            result: UploadCheck | str = uploads.check_upload(rt.ctx, file, file.name, timeframe)  # type: ignore[arg-type, attr-defined]
    except CandleLabError as exc:
        result = str(exc)
    UPLOAD_CHECK.set((file_id, timeframe, result))
    return result


@dataclass(frozen=True)
class Target:
    symbol: str | None  # None: not a valid symbol (the rule is shown)
    timeframe: str


def _target(file_name: str) -> Target:
    guessed_symbol, guessed_tf = uploads.guess_pair(file_name)
    cols = st.columns(2)
    symbol = cols[0].text_input(
        "Symbol", value=guessed_symbol or "", key=f"upload_symbol.{file_name}", placeholder="e.g. EURUSD"
    )
    codes = list(TIMEFRAMES)
    timeframe = cols[1].selectbox(
        "Timeframe",
        codes,
        index=codes.index(guessed_tf or "1d"),
        key=f"upload_tf.{file_name}",
        help="The bar size of the file; bars spaced unlike it are reported below",
    )
    if not symbol.strip():
        return Target(None, timeframe)
    try:
        return Target(normalise_symbol(symbol), timeframe)
    except CandleLabError:
        st.error(f"Not a valid symbol: use {SYMBOL_RULE}.", icon=":material/block:")
        return Target(None, timeframe)


def _show_check(check: UploadCheck) -> None:
    st.success(f"Detected: **{check.format_title}**", icon=":material/fact_check:")
    st.caption(
        f"{fmt.count(check.rows)} bars from {fmt.when(check.first)} to {fmt.when(check.last)} UTC · "
        f"prices with {check.prices.decimals} decimals (tick {check.prices.tick_size:g})"
        + (f" · ignored columns: {', '.join(check.preview.ignored)}" if check.preview.ignored else "")
    )
    for warning in check.warnings:
        st.warning(warning, icon=":material/warning:")
    bars = check.preview.bars
    first = pd.DataFrame(
        {
            "Time (UTC)": bars.index.map(fmt.when),
            **{c.capitalize(): bars[c].map(check.prices) for c in ("open", "high", "low", "close")},
            "Volume": bars["volume"].map(lambda v: fmt.num(v, 0)),
        }
    )
    st.markdown(f"**First {len(first)} rows** as they will be stored")
    st.dataframe(first, hide_index=True, width="stretch", key="upload_preview")


def upload(rt: Runtime) -> None:
    """Upload → check → import, all rows or none."""
    file = st.file_uploader(
        "CSV export (MetaTrader 5, TradingView, Yahoo or any OHLCV file)",
        type=["csv", "txt"],
        key=f"upload_file.{UPLOADS_DONE.get(0)}",
        max_upload_size=MAX_UPLOAD_MB,
        help="Checked in full before anything is stored; larger files: `python -m core data import`",
    )
    if file is None:
        return
    target = _target(file.name)
    check = _check(rt, file, target.timeframe)
    if isinstance(check, str):
        st.error("This file cannot be imported; nothing was stored.", icon=":material/block:")
        st.code(check, language=None, wrap_lines=True)
        return
    _show_check(check)
    label = f"Import {fmt.count(check.rows)} bars as {target.symbol or '…'} {target.timeframe}"
    may = can(rt.actor, Permission.IMPORT)
    if not st.button(
        label,
        type="primary",
        icon=":material/upload:",
        disabled=not (target.symbol and may.allowed),
        help=may.reason,
        key="import",
    ):
        return
    file.seek(0)
    try:
        with st.spinner(f"Importing {check.name}…"):
            outcome = data.import_upload(rt.ctx, rt.actor, file, file.name, target.symbol, target.timeframe)
    except CandleLabError as exc:
        st.error("The import was refused; nothing was stored.", icon=":material/block:")
        st.code(str(exc), language=None, wrap_lines=True)
        return
    s = outcome.summary
    message = (
        f"Stored {fmt.count(outcome.written)} bars of {s.symbol} {s.timeframe} ({fmt.count(s.rows)} in all)"
    )
    for warning in outcome.warnings:
        message += f"\n- {warning}"
    JUST_STORED.set((s.symbol, s.timeframe, message))
    UPLOAD_CHECK.pop()
    UPLOADS_DONE.set((UPLOADS_DONE.get(0) or 0) + 1)
    _refresh_pickers()
    switch_to(s.symbol, s.timeframe)
    st.rerun()


def add_symbol(rt: Runtime) -> None:
    """A symbol typed in, validated by the symbol rule, fetched from the configured provider."""
    provider = rt.settings.market_data_provider
    with st.form("add_symbol", border=False):
        cols = st.columns([3, 2, 2], vertical_alignment="bottom")
        symbol = cols[0].text_input("Symbol", key="add_symbol_name", placeholder="e.g. AAPL, EURUSD=X, ^GSPC")
        timeframe = cols[1].selectbox("Timeframe", list(TIMEFRAMES), index=list(TIMEFRAMES).index("1d"))
        may = can(rt.actor, Permission.IMPORT)
        go = cols[2].form_submit_button(
            "Fetch",
            icon=":material/download:",
            type="primary",
            width="stretch",
            disabled=not may.allowed,
            help=may.reason,
        )
    st.caption(f"Fetched from the configured provider ({provider}).")
    if not go:
        return
    try:
        with st.spinner(f"Fetching {symbol} {timeframe}…"):
            outcome = data.add_symbol(rt.ctx, rt.actor, symbol, timeframe)
    except CandleLabError as exc:
        st.error("Nothing was stored.", icon=":material/block:")
        st.code(str(exc), language=None, wrap_lines=True)
        return
    s = outcome.summary
    state = " (the provider could not be reached: stored bars kept, flagged stale)" if outcome.stale else ""
    JUST_STORED.set((s.symbol, s.timeframe, f"{s.symbol} {s.timeframe}: {fmt.count(s.rows)} bars{state}"))
    _refresh_pickers()
    switch_to(s.symbol, s.timeframe)
    st.rerun()


def just_stored() -> None:
    """The outcome of the last import or fetch (it survives the rerun that refreshes the pickers)."""
    stored = JUST_STORED.pop()
    if stored is None:
        return
    symbol, timeframe, message = stored
    head, *warnings = message.split("\n- ")
    st.success(head, icon=":material/check_circle:")
    for warning in warnings:
        st.warning(warning, icon=":material/warning:")
    st.page_link(
        CHART_PAGE,
        label=f"Open the {symbol} {timeframe} chart",
        icon=":material/candlestick_chart:",
        query_params={"symbol": symbol, "tf": timeframe},
    )
