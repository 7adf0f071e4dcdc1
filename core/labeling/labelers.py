"""The labelers: the `LABELERS` registry, which one a run uses, and the offline ones behind one interface.

Adding a labeler: write its module (a class with `name`, `future_bars`, `params()` and `label()`,
built with the run's default `horizon` in bars) and add one `LABELERS.add` line below. The
command lines, request checks, the API schema and every page read their choices from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.errors import BadInput
from core.labeling.schema import default_horizon
from core.plugins import Entry, Registry

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from core.labeling.schema import LabelRecord
    from core.settings import Settings


class OfflineLabeler(Protocol):
    name: str

    @property
    def future_bars(self) -> int: ...

    def params(self) -> dict[str, object]: ...

    def label(
        self, bars: pd.DataFrame, features: pd.DataFrame, positions: np.ndarray
    ) -> list[LabelRecord]: ...


@dataclass(frozen=True)
class LabelerEntry(Entry):
    # The LLM analyst labels through the configured provider (core.labeling.llm_labeler), priced and
    # budgeted; every other labeler is an `OfflineLabeler` class built with the run's horizon.
    uses_llm: bool = False


LABELERS: Registry[LabelerEntry, Callable[..., OfflineLabeler]] = Registry("labeler")
LABELERS.add(
    LabelerEntry(
        "llm",
        "core.labeling.llm_labeler:label_points",
        "LLM analyst",
        "the configured LLM provider (LLM_PROVIDER)",
        uses_llm=True,
    )
)
LABELERS.add(
    LabelerEntry(
        "rules",
        "core.labeling.rules:RuleLabeler",
        "Rule-based analyst",
        "five indicator signals vote (trend, momentum, RSI), offline",
    )
)
LABELERS.add(
    LabelerEntry(
        "hindsight",
        "core.labeling.hindsight:HindsightLabeler",
        "Hindsight (knows the future; baseline only)",
        "triple-barrier labels from what the price did",
    )
)
LABELERS.add(
    LabelerEntry(
        "next_price",
        "core.labeling.next_price:NextPriceLabeler",
        "Next candle's close (the traditional baseline)",
        "the next bar's close",
    )
)


def resolve_labeler(settings: Settings, labeler: str | None) -> str:
    """None means the LLM analyst when one is configured, otherwise the rule-based analyst."""
    if labeler is None:
        return "llm" if settings.llm_configured else "rules"
    name = labeler.strip().lower()
    if name not in LABELERS:
        raise LABELERS.unknown(labeler)
    return name


def make_offline_labeler(name: str, timeframe: str) -> OfflineLabeler:
    if LABELERS.entry(name).uses_llm:
        raise BadInput(f"{name!r} is not an offline labeler")
    return LABELERS.load(name)(horizon=default_horizon(timeframe))
