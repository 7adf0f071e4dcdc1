"""Typed session state: every key the dashboard keeps per browser session, namespaced, in one place.

Pages and components read and write session state only through these `Key`s, so two pieces can
never collide on a bare name and each value has one declared type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import streamlit as st

T = TypeVar("T")

NAMESPACE = "candlelab"


@dataclass(frozen=True)
class Key(Generic[T]):
    name: str

    @property
    def full(self) -> str:
        return f"{NAMESPACE}.{self.name}"

    def get(self, default: T | None = None) -> T | None:
        return cast("T | None", st.session_state.get(self.full, default))

    def require(self) -> T:
        return cast(T, st.session_state[self.full])

    def set(self, value: T) -> None:
        st.session_state[self.full] = value

    def setdefault(self, factory: Callable[[], T]) -> T:
        if self.full not in st.session_state:
            st.session_state[self.full] = factory()
        return cast(T, st.session_state[self.full])

    def pop(self) -> T | None:
        return cast("T | None", st.session_state.pop(self.full, None))

    def present(self) -> bool:
        return self.full in st.session_state


def watch_key(symbol: str, timeframe: str) -> Key[int]:
    """The job a session watches for a pair (the chart's progress widget)."""
    return Key(f"jobs.watch.{symbol}|{timeframe}")


def started_key(symbol: str, timeframe: str) -> Key[tuple[int, str]]:
    """(job, why) for a job this session started for a pair: its status line says why it runs."""
    return Key(f"jobs.started.{symbol}|{timeframe}")


SELECTION: Key[Any] = Key("pair.selection")  # dashboard.state.Selection
VIEWED_PAIRS: Key[set[tuple[str, str]]] = Key("chart.viewed_pairs")  # pairs the trigger already ran for
PENDING_TOAST: Key[tuple[str, str]] = Key("toast.pending")  # (message, icon) shown after a rerun
ACTIVATING: Key[tuple[int, int | None]] = Key("models.activating")  # (version, current) awaiting confirm
# The pair's label set ids when a labeling was started: the page opens the set that appears next.
LABELING_STARTED: Key[frozenset[int]] = Key("labels.started")
JOB_STARTED: Key[int] = Key("training.job_started")  # the Training page's details open on it
ACTOR: Key[Any] = Key("access.actor")  # core.services.actors.Actor: who this session acts as
PENDING_PAIR: Key[tuple[str, str]] = Key("pair.pending")  # the pickers switch to it on the next run
PENDING_VIEW: Key[str] = Key("chart.pending_view")  # the chart views its pair at this timeframe next
CHART_VIEWS: Key[dict[str, Any]] = Key("chart.views")  # pair -> (ChartView, from a link): its opening view
CHART_HELD: Key[dict[str, int]] = Key("chart.held")  # pair -> how many of its newest candles were sent
# pair -> the chart's last ask for earlier history ({"held": n, "range": preset or None})
CHART_ASKS: Key[dict[str, dict[str, Any]]] = Key("chart.asks")
# (symbol, timeframe, bot, current id, previous id) awaiting the rollback confirmation
ROLLING_BACK: Key[tuple[str, str, str, int, int]] = Key("models.rolling_back")

# Widget keys (a widget owns its value under its key; links and tests address widgets by them).
SYMBOL_WIDGET = "symbol"
TIMEFRAME_WIDGET = "tf"


def widget_value(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def set_widget_value(key: str, value: Any) -> None:
    st.session_state[key] = value
