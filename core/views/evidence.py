"""The evidence behind a pair's live models, where decisions are made (signal cards, Models page).

Per active bot: its out-of-sample directional accuracy beside the naive baseline (bars counted,
independent points, 95 % interval), its live accuracy once outcomes exist, whether it sits below
its baseline, and the promotion gate's verdict. A pair with no live version says so ("no model
good enough yet") and names the best candidate, which a person may still activate: the warning
for that confirmation is `activation_warning`. Recent demotions are listed with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.context import Context
from core.learning.demotion import live_evidence
from core.learning.samples import live_accuracy_of
from core.registry import gate
from core.registry.activation import deactivations
from core.registry.versions import VersionView, active_versions, get_version, list_versions

NO_MODEL = "no model good enough yet"
RECENT_DEMOTIONS = 5


@dataclass(frozen=True)
class BotEvidence:
    bot: str
    version_id: int
    label: str  # "lstm_bot v3"
    is_active: bool
    directional_accuracy: float | None
    directional_accuracy_n: int
    directional_effective_n: int
    directional_accuracy_ci: list[float] | None
    baseline_directional_accuracy: float | None
    baseline_kind: str | None
    directional_edge: float | None
    edge_p_value: float | None
    live_accuracy: float | None
    live_accuracy_n: int
    live_accuracy_ci: list[float] | None
    live_effective_n: int
    below_baseline: bool  # out of sample or live, the accuracy is under the baseline's
    significantly_below: bool  # ... with the whole 95 % interval under it
    gate_verdict: str | None
    gate_reason: str | None
    has_evidence: bool  # the gate's evidence rule holds for its out-of-sample numbers
    hit_rate: float | None  # out-of-sample share of its trades won (after costs)
    baseline_hit_rate: float | None  # ... of the naive baseline's trades under the same rules
    pnl: float | None
    baseline_pnl: float | None
    max_drawdown: float | None
    price_error: float | None
    price_error_baseline: float | None
    calibration: str  # how its confidence is calibrated: isotonic | constant | none
    warning: str | None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PairEvidence:
    symbol: str
    timeframe: str
    active: list[BotEvidence]
    headline: str
    best_candidate: BotEvidence | None = None
    demotions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_live_model(self) -> bool:
        return bool(self.active)

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "has_live_model": self.has_live_model,
            "headline": self.headline,
            "active": [b.as_json() for b in self.active],
            "best_candidate": self.best_candidate.as_json() if self.best_candidate else None,
            "demotions": self.demotions,
        }


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _warning(m: dict[str, Any], live: dict[str, Any]) -> tuple[bool, bool, str | None]:
    """Below the baseline out of sample (directional accuracy vs the baseline's) or live (trades
    won vs the share the baseline's trades won under the same rules), and how to say it."""
    acc, ci, base = (
        m.get("directional_accuracy"),
        m.get("directional_accuracy_ci"),
        m.get("baseline_directional_accuracy"),
    )
    oos_below = acc is not None and base is not None and acc < base
    oos_sig = bool(ci) and base is not None and float(ci[1]) < base
    live_acc, live_ci = live.get("live_effective_accuracy"), live.get("live_effective_ci")
    live_base = m.get("baseline_hit_rate")
    live_below = live_acc is not None and live_base is not None and live_acc < live_base
    live_sig = bool(live_ci) and live_base is not None and float(live_ci[1]) < live_base
    parts = []
    if oos_below:
        parts.append(f"out of sample {_pct(acc)} vs the baseline's {_pct(base)}")
    if live_below:
        parts.append(
            f"live {_pct(live_acc)} of {live.get('live_effective_n')} independent trades won vs the "
            f"baseline's {_pct(live_base)}"
        )
    text = ("below its baseline: " + "; ".join(parts)) if parts else None
    if text and (oos_sig or live_sig):
        text = "significantly " + text
    return oos_below or live_below, oos_sig or live_sig, text


def bot_evidence(ctx: Context, version: VersionView) -> BotEvidence:
    m = version.metrics
    live = live_accuracy_of(ctx.db, version.version_id).as_metrics()
    live.update(live_evidence(ctx.db, version.version_id).as_metrics())
    base = m.get("baseline_directional_accuracy")
    below, significant, warning = _warning(m, live)
    settings = ctx.settings
    ev = gate.evidence(m, min_points=settings.promotion_min_effective, alpha=settings.promotion_alpha)
    return BotEvidence(
        bot=version.bot,
        version_id=version.version_id,
        label=version.label,
        is_active=version.is_active,
        directional_accuracy=m.get("directional_accuracy"),
        directional_accuracy_n=int(m.get("directional_accuracy_n") or 0),
        directional_effective_n=int(m.get("directional_effective_n") or 0),
        directional_accuracy_ci=m.get("directional_accuracy_ci"),
        baseline_directional_accuracy=base,
        baseline_kind=m.get("baseline_kind"),
        directional_edge=m.get("directional_edge"),
        edge_p_value=m.get("directional_edge_p_value"),
        live_accuracy=live["live_accuracy"],
        live_accuracy_n=int(live["live_accuracy_n"]),
        live_accuracy_ci=live["live_accuracy_ci"],
        live_effective_n=int(live["live_effective_n"]),
        below_baseline=below,
        significantly_below=significant,
        gate_verdict=version.gate_verdict,
        gate_reason=version.gate_reason,
        has_evidence=ev.passed,
        hit_rate=m.get("hit_rate"),
        baseline_hit_rate=m.get("baseline_hit_rate"),
        pnl=m.get("pnl"),
        baseline_pnl=m.get("baseline_pnl"),
        max_drawdown=m.get("max_drawdown"),
        price_error=m.get("price_error"),
        price_error_baseline=m.get("price_error_baseline"),
        calibration=((m.get("confidence_calibration") or {}).get("calls") or {}).get("method", "none"),
        warning=warning,
    )


def _rank(e: BotEvidence) -> tuple[float, float]:
    """Best first: the largest edge over the baseline, then the strongest test."""
    edge = e.directional_edge if e.directional_edge is not None else -1.0
    p = e.edge_p_value if e.edge_p_value is not None else 1.0
    return (-edge, p)


def best_candidate(ctx: Context, symbol: str, timeframe: str) -> BotEvidence | None:
    """Among each bot's newest ready version, the one with the largest out-of-sample edge."""
    newest: dict[str, VersionView] = {}
    for version in list_versions(ctx.db, symbol=symbol, timeframe=timeframe, status="ready"):
        newest.setdefault(version.bot, version)
    ranked = sorted((bot_evidence(ctx, v) for v in newest.values()), key=_rank)
    return ranked[0] if ranked else None


def demotions(
    ctx: Context, symbol: str, timeframe: str, limit: int = RECENT_DEMOTIONS
) -> list[dict[str, Any]]:
    """The pair's latest deactivations (demotions and manual ones), newest first."""
    rows = deactivations(ctx.db, symbol, timeframe, limit)
    names = {v.version_id: v.label for v in list_versions(ctx.db, symbol=symbol, timeframe=timeframe)}
    return [
        {
            "bot": a.bot,
            "version_id": a.version_id,
            "label": names.get(a.version_id, a.bot),  # "xgb_agent v2", as people name versions
            "actor": a.actor,
            "reason": a.reason,
            "created_at": a.created_at.isoformat(),
        }
        for a in rows
    ]


def pair_evidence(ctx: Context, symbol: str, timeframe: str) -> PairEvidence:
    active = [bot_evidence(ctx, v) for v in active_versions(ctx.db, symbol, timeframe)]
    recent = demotions(ctx, symbol, timeframe)
    if active:
        flagged = sum(1 for e in active if e.below_baseline)
        headline = f"{len(active)} live model(s)" + (f", {flagged} below its baseline" if flagged else "")
        return PairEvidence(symbol, timeframe, active, headline, None, recent)
    candidate = best_candidate(ctx, symbol, timeframe)
    headline = NO_MODEL
    if candidate is not None:
        headline += f"; best candidate {candidate.label}: {candidate.gate_reason or 'not judged by the gate'}"
    return PairEvidence(symbol, timeframe, [], headline, candidate, recent)


def activation_warning(ctx: Context, version_id: int) -> str | None:
    """What a person must confirm to activate a version the gate would not (None when it would)."""
    version = get_version(ctx.db, version_id)
    settings = ctx.settings
    ev = gate.evidence(
        version.metrics, min_points=settings.promotion_min_effective, alpha=settings.promotion_alpha
    )
    if ev.passed:
        return None
    return f"{version.label} has no out-of-sample evidence of beating the naive baseline ({ev.reason})"
