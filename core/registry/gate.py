"""The promotion gate: whether a freshly trained version may go live on its own.

Nothing goes live automatically without evidence, the first version of a bot included. A version
has evidence when, on its walk-forward out-of-sample bars, its directional accuracy beats the
naive baseline significantly: an exact one-sided McNemar test of its hits against the baseline's
on the effective sample (bars at least one horizon apart, `directional_effective_n` of them, at
least `min_points`) gives p < `alpha`. A version whose interval lies wholly below the baseline is
marked `below_baseline`.

With evidence, in this order:
- no ready active version: promote;
- the active version has no evidence of its own (activated by hand, or measured before this
  rule): promote (a measured model replaces an unmeasured one);
- otherwise promote only if it beats the active one: a larger edge over the baseline
  (directional accuracy minus baseline accuracy) AND a P&L at least as good.
Each version's numbers come from its own evaluated period; subtracting each period's baseline is
what makes them comparable. The verdict is recorded on every version, also when a person
activates it anyway (`train --activate`, the Models page), so the record says what the gate
thought.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.registry.versions import VersionView

PROMOTE, KEEP_ACTIVE, NO_EVIDENCE, BELOW_BASELINE = "promote", "keep_active", "no_evidence", "below_baseline"
VERDICTS = (PROMOTE, KEEP_ACTIVE, NO_EVIDENCE, BELOW_BASELINE)
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class Evidence:
    """Whether a version's out-of-sample numbers show it beats the naive baseline."""

    passed: bool
    below_baseline: bool
    reason: str
    effective_n: int
    p_value: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "below_baseline": self.below_baseline,
            "effective_n": self.effective_n,
            "p_value": self.p_value,
            "reason": self.reason,
        }


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def evidence(metrics: dict[str, Any], *, min_points: int, alpha: float = DEFAULT_ALPHA) -> Evidence:
    acc, base = metrics.get("directional_accuracy"), metrics.get("baseline_directional_accuracy")
    n_eff = metrics.get("directional_effective_n")
    p = metrics.get("directional_edge_p_value")
    if acc is None or base is None:
        return Evidence(False, False, "no out-of-sample directional metrics", 0, None)
    if n_eff is None or p is None:
        return Evidence(False, False, "measured before effective samples were recorded", 0, None)
    n_eff, p = int(n_eff), float(p)
    kind = metrics.get("baseline_kind") or "naive"
    bars = metrics.get("directional_accuracy_n")
    versus = f"{_pct(acc)} vs the {kind} baseline's {_pct(base)} on {n_eff} independent points ({bars} bars)"
    ci = metrics.get("directional_accuracy_ci")
    if ci and float(ci[1]) < float(base):
        return Evidence(False, True, f"below the baseline at 95 %: {versus}", n_eff, p)
    if n_eff < min_points:
        return Evidence(
            False, False, f"too little evidence (< {min_points} independent points): {versus}", n_eff, p
        )
    if acc <= base or p >= alpha:
        return Evidence(False, False, f"not significantly better (p = {p:.3f}): {versus}", n_eff, p)
    return Evidence(True, False, f"beats the baseline (p = {p:.3f}): {versus}", n_eff, p)


@dataclass(frozen=True)
class GateDecision:
    activate: bool
    reason: str
    compared_with: int | None = None
    verdict: str = NO_EVIDENCE
    evidence: Evidence | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "activated": self.activate,
            "verdict": self.verdict,
            "reason": self.reason,
            "compared_with": self.compared_with,
            "evidence": self.evidence.as_json() if self.evidence else None,
        }


def _edge(metrics: dict[str, Any]) -> float | None:
    acc, base = metrics.get("directional_accuracy"), metrics.get("baseline_directional_accuracy")
    if acc is None or base is None:
        return None
    return float(acc) - float(base)


def _against_active(new: dict[str, Any], active: VersionView, ev: Evidence) -> GateDecision:
    new_edge, old_edge = _edge(new), _edge(active.metrics)
    new_pnl = float(new.get("pnl") or 0.0)
    old_pnl = float(active.metrics.get("pnl") or 0.0)
    summary = (
        f"edge {new_edge:+.4f} vs {old_edge:+.4f}"
        if old_edge is not None and new_edge is not None
        else f"edge {new_edge} vs none"
    ) + f", P&L {new_pnl:+.2%} vs {old_pnl:+.2%}"
    vid = active.version_id
    if old_edge is not None and new_edge is not None and new_edge <= old_edge:
        return GateDecision(False, f"does not beat version {vid}: {summary}", vid, KEEP_ACTIVE, ev)
    if new_pnl < old_pnl:
        return GateDecision(False, f"P&L below version {vid}: {summary}", vid, KEEP_ACTIVE, ev)
    return GateDecision(True, f"beats version {vid}: {summary}", vid, PROMOTE, ev)


def decide(
    new: dict[str, Any], active: VersionView | None, *, min_points: int, alpha: float = DEFAULT_ALPHA
) -> GateDecision:
    """The verdict on a new version's metrics against the slot's active version (if any)."""
    ev = evidence(new, min_points=min_points, alpha=alpha)
    compared = active.version_id if active is not None else None
    if not ev.passed:
        verdict = BELOW_BASELINE if ev.below_baseline else NO_EVIDENCE
        return GateDecision(False, f"no evidence of an edge: {ev.reason}", compared, verdict, ev)
    if active is None:
        return GateDecision(True, f"{ev.reason}; no active version", None, PROMOTE, ev)
    if active.status != "ready":
        return GateDecision(
            True, f"{ev.reason}; active version {compared} is {active.status}", compared, PROMOTE, ev
        )
    held = evidence(active.metrics, min_points=min_points, alpha=alpha)
    if not held.passed:
        return GateDecision(
            True,
            f"{ev.reason}; active version {compared} has no such evidence ({held.reason})",
            compared,
            PROMOTE,
            ev,
        )
    return _against_active(new, active, ev)
