"""Which labeler a run uses, and the offline ones (rules, hindsight, next_price) behind one interface."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from core.errors import BadInput
from core.labeling.hindsight import HindsightLabeler
from core.labeling.next_price import NextPriceLabeler
from core.labeling.rules import RuleLabeler
from core.labeling.schema import LABELERS, LabelRecord, default_horizon
from core.settings import Settings


class OfflineLabeler(Protocol):
    name: str

    @property
    def future_bars(self) -> int: ...

    def params(self) -> dict[str, object]: ...

    def label(
        self, bars: pd.DataFrame, features: pd.DataFrame, positions: np.ndarray
    ) -> list[LabelRecord]: ...


def resolve_labeler(settings: Settings, labeler: str | None) -> str:
    """None means the LLM analyst when one is configured, otherwise the rule-based analyst."""
    if labeler is None:
        return "llm" if settings.llm_configured else "rules"
    name = labeler.strip().lower()
    if name not in LABELERS:
        raise BadInput(f"unknown labeler {labeler!r}; use one of {', '.join(LABELERS)}")
    return name


def make_offline_labeler(name: str, timeframe: str) -> OfflineLabeler:
    horizon = default_horizon(timeframe)
    if name == "rules":
        return RuleLabeler(horizon)
    if name == "hindsight":
        return HindsightLabeler(horizon)
    if name == "next_price":
        return NextPriceLabeler()
    raise BadInput(f"{name!r} is not an offline labeler")
