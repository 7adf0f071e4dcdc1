"""The details of one table row, beside the table instead of in columns that push the table wider
than the page: the table keeps the few numbers people scan, the panel holds everything else."""

from __future__ import annotations

import streamlit as st

from dashboard import inert


def row_panel(
    title: str, fields: dict[str, str], notes: dict[str, str] | None = None, per_row: int = 4
) -> None:
    """`fields` as a grid of short label/value pairs; `notes` (long texts such as a gate's reason
    or an error) each on a line of its own, shown as plain text."""
    with st.container(border=True):
        st.markdown(f"**{title}**")
        items = list(fields.items())
        for start in range(0, len(items), per_row):
            cols = st.columns(per_row)
            for col, (label, value) in zip(cols, items[start : start + per_row], strict=False):
                col.caption(label)
                col.text(value or "—")  # plain text: no Markdown, whatever the value holds
        for label, text in (notes or {}).items():
            st.caption(label)
            inert.block(text)
