"""Cards for the active bots' latest calls: the call, its confidence, target and stop, and which
model version made it."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.views.overlays import ActiveSignal
from dashboard import formatting as fmt


def signal_cards(signals: Sequence[ActiveSignal]) -> None:
    cols = st.columns(max(1, min(4, len(signals))))
    for col, sig in zip(cols, signals, strict=False):
        with col.container(border=True):
            head = st.columns([3, 2], vertical_alignment="center")
            head[0].markdown(
                f"**{sig.bot}**  \n:gray[v{sig.version_id} · trained {fmt.ago(sig.model_created_at)}]"
            )
            head[1].badge(sig.recommendation, color=fmt.REC_BADGE.get(sig.recommendation, "gray"))
            move_t = sig.target / sig.current_price - 1.0
            move_s = sig.stop_loss / sig.current_price - 1.0
            st.markdown(
                f"Confidence **{fmt.pct(sig.confidence)}** · "
                f"expected {fmt.signed_pct(sig.predicted_return, 2)}  \n"
                f":green[Target {fmt.price(sig.target)} ({fmt.signed_pct(move_t, 2)})]  \n"
                f":red[Stop {fmt.price(sig.stop_loss)} ({fmt.signed_pct(move_s, 2)})]"
            )
            st.caption(f"as of {fmt.when(sig.as_of)} UTC at {fmt.price(sig.current_price)}")
