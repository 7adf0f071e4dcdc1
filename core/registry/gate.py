"""The promotion gate: when a freshly trained version may replace the active one on its own.

Held-out walk-forward metrics decide, in this order:
- no active version (or a broken one): promote;
- the new version has fewer than `min_points` directional points: keep the active one;
- the new version is worse than the naive baseline with 95 % confidence (its interval's upper
  end below the baseline): keep;
- the active version's own evidence is thinner than `min_points`: promote (a measured model
  replaces an unmeasured one; a lucky 8 of 10 must not block every successor);
- otherwise promote only if it beats the active one: a larger edge over the baseline
  (directional accuracy minus baseline accuracy) AND a P&L at least as good.
Each version's numbers come from its own held-out period; subtracting each period's baseline is
what makes them comparable. Manual activation bypasses the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.registry.versions import VersionView


@dataclass(frozen=True)
class GateDecision:
    activate: bool
    reason: str
    compared_with: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"activated": self.activate, "reason": self.reason, "compared_with": self.compared_with}


def _edge(metrics: dict[str, Any]) -> float | None:
    acc, base = metrics.get("directional_accuracy"), metrics.get("baseline_directional_accuracy")
    if acc is None or base is None:
        return None
    return float(acc) - float(base)


def decide(new: dict[str, Any], active: VersionView | None, *, min_points: int) -> GateDecision:
    if active is None:
        return GateDecision(True, "no active version")
    if active.status != "ready":
        return GateDecision(True, f"active version {active.version_id} is {active.status}", active.version_id)
    n = int(new.get("directional_accuracy_n") or 0)
    if n < min_points:
        return GateDecision(
            False,
            f"only {n} held-out directional points (< {min_points}); keeping version {active.version_id}",
            active.version_id,
        )
    ci, base = new.get("directional_accuracy_ci"), new.get("baseline_directional_accuracy")
    if ci and base is not None and float(ci[1]) < float(base):
        return GateDecision(
            False, f"worse than the naive baseline ({ci[1]:.3f} < {base:.3f} at 95 %)", active.version_id
        )
    active_n = int(active.metrics.get("directional_accuracy_n") or 0)
    if active_n < min_points:
        return GateDecision(
            True,
            f"active version {active.version_id} was measured on only {active_n} held-out points "
            f"(< {min_points}); this one on {n}",
            active.version_id,
        )
    new_edge, old_edge = _edge(new), _edge(active.metrics)
    new_pnl = float(new.get("pnl") or 0.0)
    old_pnl = float(active.metrics.get("pnl") or 0.0)
    if new_edge is None:
        return GateDecision(False, "new version has no directional metrics", active.version_id)
    summary = (
        f"edge {new_edge:+.4f} vs {old_edge:+.4f}"
        if old_edge is not None
        else f"edge {new_edge:+.4f} vs none"
    ) + f", P&L {new_pnl:+.2%} vs {old_pnl:+.2%}"
    if old_edge is not None and new_edge <= old_edge:
        return GateDecision(False, f"does not beat version {active.version_id}: {summary}", active.version_id)
    if new_pnl < old_pnl:
        return GateDecision(False, f"P&L below version {active.version_id}: {summary}", active.version_id)
    return GateDecision(True, f"beats version {active.version_id}: {summary}", active.version_id)
