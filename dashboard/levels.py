"""Price-level labels (targets, stops, entries) in the chart's right margin, never on top of each other.

Four bots' targets often sit within a few ticks of one another; text printed at each level would
overlap into an unreadable smear. Each label is placed in the margin at its level when there is
room, or pushed just far enough up or down to clear its neighbours, with a leader line from the
label to the level's true price at the plot's edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

MIN_GAP_SHARE = 0.045  # of the price axis span: about one line of 10-px text on a 480-px panel
MARGIN_PX = 200  # the right margin the labels need


@dataclass(frozen=True)
class Level:
    price: float
    text: str
    color: str


def spread(prices: Sequence[float], gap: float) -> list[float]:
    """Label positions, in the order given: each at its price unless it would sit within `gap` of
    another, then the group is spread evenly around its centre (so no label moves further than needed)."""
    if not prices:
        return []
    order = sorted(range(len(prices)), key=lambda i: prices[i])
    groups: list[list[int]] = []
    for i in order:
        groups.append([i])
        # Merge with the group below while the two would overlap once spread.
        while len(groups) > 1 and _top(groups[-2], prices, gap) + gap > _bottom(groups[-1], prices, gap):
            groups[-2:] = [groups[-2] + groups[-1]]
    out = [0.0] * len(prices)
    for group in groups:
        base = _bottom(group, prices, gap)
        for k, i in enumerate(group):
            out[i] = base + k * gap
    return out


def _centre(group: list[int], prices: Sequence[float]) -> float:
    return sum(prices[i] for i in group) / len(group)


def _bottom(group: list[int], prices: Sequence[float], gap: float) -> float:
    return _centre(group, prices) - gap * (len(group) - 1) / 2


def _top(group: list[int], prices: Sequence[float], gap: float) -> float:
    return _bottom(group, prices, gap) + gap * (len(group) - 1)


def add_level_labels(
    fig: go.Figure, levels: Sequence[Level], axis_span: tuple[float, float], *, yref: str = "y"
) -> None:
    """One margin label per level, spread apart, each with a leader line to its price."""
    if not levels:
        return
    low, high = axis_span
    gap = max(high - low, 1e-12) * MIN_GAP_SHARE
    for level, placed in zip(levels, spread([lv.price for lv in levels], gap), strict=True):
        fig.add_annotation(
            x=1.0,
            xref="paper",
            y=level.price,
            yref=yref,
            ax=14,
            axref="pixel",
            ay=placed,
            ayref=yref,
            text=level.text,
            showarrow=True,
            arrowhead=0,
            arrowwidth=1,
            arrowcolor=level.color,
            xanchor="left",
            font={"size": 10, "color": level.color},
            align="left",
        )
