"""Cards for the active bots' latest calls, each with the evidence behind it: the call, its
calibrated confidence (the model's raw number on hover), target and stop at the market's
precision, out-of-sample directional accuracy beside the naive baseline with its counts and
interval, live accuracy once outcomes exist, a warning when the model is below its baseline, and
what the promotion gate said."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from core.views.evidence import BotEvidence
from core.views.overlays import ActiveSignal
from core.views.prices import PriceFormat
from dashboard import formatting as fmt

VERDICTS = {
    "promote": "promoted: beats the baseline",
    "keep_active": "beats the baseline, not the active version",
    "no_evidence": "no evidence of an edge",
    "below_baseline": "below its baseline",
}
BASELINES = {"majority": "majority direction", "momentum": "momentum"}


def gate_text(verdict: str | None, reason: str | None) -> str:
    """ "Gate: no evidence of an edge: not significantly better (p = 0.091) ..." (no word twice)."""
    head = VERDICTS.get(verdict or "", verdict or "not judged")
    if not reason or reason == head:
        return f"Gate: {head}"
    return f"Gate: {reason}" if reason.startswith(head.split(":")[0]) else f"Gate: {head} ({reason})"


def oos_line(ev: BotEvidence) -> str:
    """ "Out of sample **53.1 %** vs baseline 50.4 % (majority direction)"."""
    base = BASELINES.get(ev.baseline_kind or "", ev.baseline_kind or "naive")
    return (
        f"Out of sample **{fmt.pct(ev.directional_accuracy, 1)}** vs baseline "
        f"{fmt.pct(ev.baseline_directional_accuracy, 1)} ({base})"
    )


def counts_line(ev: BotEvidence) -> str:
    """ "1,588 bars · 159 independent · 95 % CI 45–61 %": how much the accuracy can be trusted."""
    span = fmt.interval(ev.directional_accuracy_ci)
    parts = [
        f"{fmt.count(ev.directional_accuracy_n)} bars",
        f"{fmt.count(ev.directional_effective_n)} independent",
    ]
    return " · ".join(parts + ([f"95 % CI {span}"] if span else []))


def live_line(ev: BotEvidence) -> str:
    if not ev.live_accuracy_n:
        return "Live: no closed trades yet"
    return "Live: " + fmt.proportion(ev.live_accuracy, ev.live_accuracy_n, ev.live_accuracy_ci).replace(
        "point", "trade"
    )


def evidence_block(ev: BotEvidence | None) -> None:
    """The evidence lines of one card (or why there are none)."""
    if ev is None:
        st.caption("No evidence recorded for this version.")
        return
    st.markdown(oos_line(ev), help="Directional accuracy on walk-forward bars the model never saw")
    st.caption(counts_line(ev))
    st.caption(live_line(ev))
    if ev.warning:
        st.warning(ev.warning[0].upper() + ev.warning[1:], icon=":material/trending_down:")
    st.caption(gate_text(ev.gate_verdict, ev.gate_reason))


def _confidence(sig: ActiveSignal, ev: BotEvidence | None) -> None:
    method = ev.calibration if ev is not None else "none"
    raw = fmt.pct(sig.raw_confidence) if sig.raw_confidence is not None else "—"
    how = (
        f"Calibrated ({method}) on the version's out-of-sample outcomes"
        if method != "none"
        else "Not calibrated: too few out-of-sample outcomes"
    )
    st.markdown(
        f"Confidence **{fmt.pct(sig.confidence)}** · expected {fmt.signed_pct(sig.predicted_return, 2)}",
        help=f"{how}. The model's raw confidence: {raw}.",
    )


def signal_cards(
    signals: Sequence[ActiveSignal], evidence: Mapping[str, BotEvidence], prices: PriceFormat
) -> None:
    cols = st.columns(max(3, min(4, len(signals))))  # a lone card keeps a card's width
    for col, sig in zip(cols, signals, strict=False):
        ev = evidence.get(sig.bot)
        with col.container(border=True):
            head = st.columns([3, 2], vertical_alignment="center")
            head[0].markdown(f"**{sig.name}**  \n:gray[trained {fmt.ago(sig.model_created_at)}]")
            head[1].badge(sig.recommendation, color=fmt.REC_BADGE.get(sig.recommendation, "gray"))
            _confidence(sig, ev)
            move_t = sig.target / sig.current_price - 1.0
            move_s = sig.stop_loss / sig.current_price - 1.0
            st.markdown(
                f":green[Target {prices(sig.target)} ({fmt.signed_pct(move_t, 2)})]  \n"
                f":red[Stop {prices(sig.stop_loss)} ({fmt.signed_pct(move_s, 2)})]"
            )
            evidence_block(ev)
            st.caption(f"as of {fmt.when(sig.as_of)} UTC at {prices(sig.current_price)}")
