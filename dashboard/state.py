"""The symbol and timeframe every page works on, kept in the URL (`?symbol=INFY.NS&tf=5m`) so a
link reopens the same view, and in session state so switching pages keeps it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from core.errors import BadInput
from core.timeframes import SYMBOL_RULE, TIMEFRAMES, normalise_symbol, parse_timeframe
from core.views import market
from core.views.candles import VIEW_STEPS, coarser_view_of
from dashboard import session
from dashboard.runtime import Runtime
from dashboard.session import SYMBOL_WIDGET as SYMBOL
from dashboard.session import TIMEFRAME_WIDGET as TF

DEFAULT_PAIR = ("INFY.NS", "5m")
_UNSAFE = re.compile(r"[^\w.=^-]")


@dataclass(frozen=True)
class Selection:
    symbol: str
    timeframe: str

    @property
    def label(self) -> str:
        return f"{self.symbol} · {self.timeframe}"


@st.cache_data(ttl=30, show_spinner=False)
def stored_pairs(db_url: str, _rt: Runtime) -> list[tuple[str, str]]:
    return [(s.symbol, s.timeframe) for s in market.list_pairs(_rt.ctx) if s.rows]


def _shown(value: str) -> str:
    """A value from the URL, quoted for Markdown: only word characters and `.=^-`, in a code span."""
    return "`" + _UNSAFE.sub("", value)[:24] + "`"


def _from_url() -> tuple[str | None, str | None, list[str]]:
    """The pair a link asks for, and a notice for each part of it that is not valid."""
    symbol, tf = st.query_params.get("symbol"), st.query_params.get("tf")
    notices = []
    try:
        symbol = normalise_symbol(symbol) if symbol else None
    except BadInput:
        notices.append(f"The link names an invalid symbol ({_shown(symbol)}): use {SYMBOL_RULE}.")
        symbol = None
    if tf and tf.strip() in VIEW_STEPS:  # a view of stored bars (4h), whether stored itself or not
        return symbol, tf.strip(), notices
    try:
        tf = parse_timeframe(tf).code if tf else None
    except BadInput:
        known = ", ".join(dict.fromkeys([*TIMEFRAMES, *VIEW_STEPS]))
        notices.append(f"The link names an unknown timeframe ({_shown(tf)}); timeframes are {known}.")
        tf = None
    return symbol, tf, notices


def _stored_for_link(
    symbol: str, tf: str, pairs: list[tuple[str, str]], notices: list[str]
) -> tuple[str, str | None]:
    """The stored timeframe a link's `tf` opens, and the coarser view to show it at (if any).

    A timeframe the symbol is not stored at opens its finest stored series it can be resampled
    from (`?tf=4h` on 5m bars); one that cannot be stored at all (4h) and has nothing to resample
    from falls back to a stored timeframe, with a notice."""
    if (symbol, tf) in pairs:
        return tf, None
    finer = coarser_view_of(symbol, tf, pairs)
    if finer is not None:
        return finer, tf
    if tf in TIMEFRAMES:
        return tf, None  # the chart offers to fetch it
    notices.append(f"{symbol} has no stored bars a {_shown(tf)} view can be merged from.")
    return _first_tf(pairs, symbol), None


def pair_picker(rt: Runtime) -> Selection:
    """Sidebar pickers; the URL wins on first load, the widgets afterwards, and the URL follows them."""
    pairs = stored_pairs(rt.settings.db_url, rt)
    url_symbol, url_tf, notices = _from_url()
    pending = session.PENDING_PAIR.pop()  # a page asked for a pair (a series just imported)
    if pending is not None:
        session.set_widget_value(SYMBOL, pending[0])
        session.set_widget_value(TF, pending[1])
    if session.widget_value(SYMBOL) is None:
        fallback = DEFAULT_PAIR if DEFAULT_PAIR in pairs else (pairs[0] if pairs else DEFAULT_PAIR)
        chosen = url_symbol or fallback[0]
        tf = fallback[1] if chosen == fallback[0] else _first_tf(pairs, chosen)
        if url_tf:
            tf, view = _stored_for_link(chosen, url_tf, pairs, notices)
            if view is not None:
                session.PENDING_VIEW.set(view)  # the chart opens resampled, as linked
        session.set_widget_value(SYMBOL, chosen)
        session.set_widget_value(TF, tf)
    symbols = sorted({s for s, _ in pairs} | {session.widget_value(SYMBOL)})
    with st.sidebar:
        symbol = st.selectbox("Symbol", symbols, key=SYMBOL, on_change=_symbol_changed, args=(pairs,))
        stored_tfs = [tf for s, tf in pairs if s == symbol]
        if session.widget_value(TF) not in TIMEFRAMES:
            session.set_widget_value(TF, _first_tf(pairs, symbol))
        # Stored timeframes first, then every other one (they can be fetched from the chart page).
        options = stored_tfs + [tf for tf in TIMEFRAMES if tf not in stored_tfs]
        tf = st.selectbox(
            "Timeframe",
            options,
            key=TF,
            format_func=lambda code: code if code in stored_tfs else f"{code} (no data yet)",
        )
    for notice in notices:  # the URL is rewritten below, so each shows once, on the run it was opened
        st.warning(f"{notice} Showing {symbol} · {tf} instead.", icon=":material/link_off:")
    st.query_params.update({"symbol": symbol, "tf": tf})
    return Selection(symbol, tf)


def _symbol_changed(pairs: list[tuple[str, str]]) -> None:
    """A new symbol opens on a timeframe it has data for, unless the current one has data too."""
    symbol = session.widget_value(SYMBOL)
    if (symbol, session.widget_value(TF)) not in pairs:
        session.set_widget_value(TF, _first_tf(pairs, symbol))


def _first_tf(pairs: list[tuple[str, str]], symbol: str) -> str:
    return next((tf for s, tf in pairs if s == symbol), "1d")


def switch_to(symbol: str, timeframe: str) -> None:
    """Select this pair in the sidebar from the next run on (widgets cannot change mid-run)."""
    session.PENDING_PAIR.set((symbol, timeframe))


def current() -> Selection:
    """The selection `app.py` made for this run (pages read it; only the sidebar writes it)."""
    return session.SELECTION.require()
