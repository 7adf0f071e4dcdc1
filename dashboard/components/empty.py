"""Empty states that say what is missing and what to do next, instead of a blank page."""

from __future__ import annotations

import streamlit as st


def empty_state(title: str, what_next: str, icon: str = ":material/info:") -> None:
    st.info(f"**{title}**  \n{what_next}", icon=icon)
