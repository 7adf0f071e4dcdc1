"""The chart's evidence panels: "no model good enough yet" with the best candidate (which a person
may still activate, after a confirmation that warns), and recent automatic demotions."""

from __future__ import annotations

import streamlit as st

from core.services.actors import Actor, Permission
from core.views.access import can
from core.views.evidence import PairEvidence
from dashboard import formatting as fmt
from dashboard import session
from dashboard.components.signals import evidence_block
from dashboard.state import Selection

DEMOTION_ACTOR = "demotion"  # core.learning.demotion's actor name in the activation history


def no_model_panel(sel: Selection, evidence: PairEvidence, actor: Actor) -> None:
    """Why nothing trades on this pair, the best candidate's numbers, and a way to activate it."""
    st.warning(
        f"**No model good enough yet** for {sel.label}: no version has beaten the naive baseline "
        "significantly on out-of-sample data, so none went live on its own.",
        icon=":material/block:",
    )
    candidate = evidence.best_candidate
    if candidate is None:
        st.caption("No version has been trained yet: quick training starts on its own for a stale pair.")
        return
    with st.container(border=True):
        st.markdown(f"Best candidate: **{candidate.label}** (largest out-of-sample edge)")
        evidence_block(candidate)
        may = can(actor, Permission.ACTIVATE)
        if st.button(
            f"Activate {candidate.label} anyway…",
            key="activate_candidate",
            icon=":material/warning:",
            help=may.reason or "A manual activation: the confirmation says what the gate found",
            disabled=not may.allowed,
        ):
            session.ACTIVATING.set((candidate.version_id, None))
            st.rerun()


def demotion_notices(evidence: PairEvidence) -> None:
    """Versions the live record took out of service on its own, with the reason it gave, while
    their bot has nothing live in their place."""
    live = {e.bot for e in evidence.active}
    for entry in evidence.demotions:
        if entry.get("actor") != DEMOTION_ACTOR or entry["bot"] in live:
            continue
        st.error(
            f"**{entry['label']}** was demoted automatically "
            f"{fmt.ago(fmt.parse_time(entry['created_at']))}: {entry.get('reason') or 'no reason recorded'}",
            icon=":material/trending_down:",
        )
