"""Demotion: an active version whose live record falls significantly below its baseline is taken
out of service on its own (`DEMOTION_ENABLED`, on by default), with the reason in its history and
a row on the audit log.

Live record: the version's closed paper or live trades. Trades that overlap in time ride the same
move, so the evidence counts only non-overlapping ones (each entered after the previous counted
one closed), like the effective sample of the walk-forward metrics. Its baseline, like for like:
`baseline_hit_rate`, the share of trades the naive baseline won out of sample when traded with
the same targets, stops, exits and costs (a trade's hit rate depends on its target and stop, so
a directional accuracy would not compare). A version is demoted when at least
`DEMOTION_MIN_TRADES` such trades exist and the upper end of the 95 % interval of their hit rate
lies below that baseline: worse than the naive guess, beyond reasonable doubt. The check runs
where outcomes are closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.access import audit
from core.access.audit import AuditRecord
from core.context import Context
from core.db.database import Database
from core.db.models import AITrainingSample
from core.errors import NotFound
from core.evaluation.intervals import wilson_interval
from core.learning.sources import WALKFORWARD
from core.registry.activation import deactivate
from core.registry.versions import get_version

log = logging.getLogger(__name__)
ACTOR = "demotion"


@dataclass(frozen=True)
class LiveEvidence:
    """Non-overlapping closed trades of a version and how many of them were right."""

    trades: int  # every closed trade
    effective_n: int  # non-overlapping ones
    hits: int  # right among the non-overlapping ones
    ci: tuple[float, float] | None

    @property
    def accuracy(self) -> float | None:
        return round(self.hits / self.effective_n, 4) if self.effective_n else None

    def as_metrics(self) -> dict[str, Any]:
        return {
            "live_effective_n": self.effective_n,
            "live_effective_accuracy": self.accuracy,
            "live_effective_ci": list(self.ci) if self.ci else None,
        }


def live_evidence(db: Database, version_id: int) -> LiveEvidence:
    """The version's non-overlapping closed trades (its walk-forward replays are not its record)."""
    with db.read() as session:
        rows = session.execute(
            select(
                AITrainingSample.predicted_at, AITrainingSample.exit_time, AITrainingSample.prediction_correct
            )
            .where(
                AITrainingSample.version_id == version_id,
                AITrainingSample.status == "closed",
                AITrainingSample.source != WALKFORWARD,  # the fold models' replays are not its live record
            )
            .order_by(AITrainingSample.predicted_at, AITrainingSample.id)
        ).all()
    taken = hits = 0
    free_from = None
    for entered, exited, correct in rows:
        if free_from is not None and entered < free_from:
            continue
        taken += 1
        hits += int(bool(correct))
        free_from = exited or entered
    return LiveEvidence(len(rows), taken, hits, wilson_interval(hits, taken))


def review(ctx: Context, version_id: int) -> str | None:
    """Demote the version if it is active and its live record says so; returns the reason if it did."""
    settings = ctx.settings
    if not settings.demotion_enabled:
        return None
    try:
        version = get_version(ctx.db, version_id)
    except NotFound:
        return None
    baseline = version.metrics.get("baseline_hit_rate")
    if not version.is_active or baseline is None:  # nothing to compare with: its trades are not read
        return None
    live = live_evidence(ctx.db, version_id)
    if live.ci is None or live.effective_n < settings.demotion_min_trades:
        return None
    if live.ci[1] >= float(baseline):
        return None
    reason = (
        f"demoted: live accuracy {live.accuracy:.1%} on {live.effective_n} non-overlapping closed trades "
        f"(95 % CI {live.ci[0]:.1%}-{live.ci[1]:.1%}) is below the {float(baseline):.1%} that its naive "
        "baseline's trades won out of sample"
    )
    if not deactivate(ctx, version_id, actor=ACTOR, reason=reason):
        return None
    # A change of what trades, so it is on the audit log beside the activations people make.
    entry = AuditRecord(ACTOR, "system", "demote", "succeeded", target=f"version {version_id}", reason=reason)
    audit.record(ctx.db, entry)
    return reason
