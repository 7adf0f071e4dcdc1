"""One bot of one training run: fit and evaluate walk-forward, write and verify the artifact,
register the version, let the promotion gate decide, prune old artifacts.

A version row is inserted only after its artifact is complete on disk, re-read under its SHA-256
and shown to reproduce the trained model's predictions, so nothing half-written can be activated.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.bots.base import Bot
from core.bots.dataset import Dataset, Inputs
from core.bots.factory import load_bot, make_bot
from core.context import Context
from core.errors import ArtifactError, CandleLabError
from core.evaluation.splits import ChronoSplit
from core.evaluation.stats import json_safe
from core.evaluation.walkforward import fit_and_evaluate
from core.registry import gate
from core.registry.activation import activate
from core.registry.artifacts import ArtifactInfo, new_key
from core.registry.retention import prune
from core.registry.versions import active_version, register_version, set_metric
from core.training.lineage import build_lineage
from core.training.records import finish_record, start_record

log = logging.getLogger("core.training")

ACTIVATE_MODES = ("gate", "always", "never")


@dataclass(frozen=True)
class TrainingPlan:
    """Everything the bots of one run share."""

    ctx: Context
    symbol: str
    timeframe: str
    bars: pd.DataFrame
    dataset: Dataset
    split: ChronoSplit
    label_set_id: int | None
    labeler: str | None
    source: str
    training_type: str
    job_id: int | None
    activate: str
    actor: str
    llm_calls: int = 0
    cost_usd: float = 0.0
    seed: int = 0
    bot_params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainedVersion:
    version_id: int
    bot: str
    metrics: dict[str, Any]
    activated: bool
    gate_reason: str
    record_id: int
    wall_s: float

    def as_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "bot": self.bot,
            "activated": self.activated,
            "gate_reason": self.gate_reason,
            "wall_s": round(self.wall_s, 3),
            "metrics": self.metrics,
        }


def _verify(plan: TrainingPlan, bot: Bot, artifact: ArtifactInfo, probe: Inputs) -> None:
    """Re-read the artifact under its SHA-256 and check it predicts what the trained bot predicts."""
    store = plan.ctx.artifacts
    reloaded = load_bot(store.read_verified(artifact.key, artifact.sha256), plan.ctx.settings)
    before, after = bot.predict(probe), reloaded.predict(probe)
    same = np.array_equal(before.direction, after.direction) and np.allclose(
        before.expected_return, after.expected_return, rtol=1e-4, atol=1e-7
    )
    if not same:
        raise ArtifactError(
            f"{bot.name} artifact {store.location(artifact.key)} does not reproduce the trained model"
        )


def _decide(plan: TrainingPlan, name: str, metrics: dict[str, Any]) -> tuple[gate.GateDecision, int | None]:
    current = active_version(plan.ctx.db, plan.symbol, plan.timeframe, name)
    current_id = current.version_id if current else None
    if plan.activate == "always":
        return gate.GateDecision(True, "activation requested", current_id), current_id
    if plan.activate == "never":
        return gate.GateDecision(False, "activation not requested", current_id), current_id
    return gate.decide(metrics, current, min_points=plan.ctx.settings.promotion_min_heldout), current_id


def train_bot(plan: TrainingPlan, name: str) -> TrainedVersion:
    ctx, settings = plan.ctx, plan.ctx.settings
    started = time.perf_counter()
    params = plan.bot_params.get(name, {})
    record_id = start_record(
        ctx.db, job_id=plan.job_id, symbol=plan.symbol, timeframe=plan.timeframe, bot=name,
        training_type=plan.training_type, label_set_id=plan.label_set_id,
        config={
            "training_type": plan.training_type, "label_set_id": plan.label_set_id, "labeler": plan.labeler,
            "label_source": plan.source, "llm_calls": plan.llm_calls, "cost_usd": round(plan.cost_usd, 6),
            "labels": len(plan.dataset), "activate": plan.activate, "overrides": params,
            **plan.split.as_json(),
        },
    )  # fmt: skip
    artifact: ArtifactInfo | None = None
    try:
        bot = make_bot(name, settings, seed=plan.seed, timeframe=plan.timeframe, **params)
        evaluation = fit_and_evaluate(bot, plan.dataset, plan.bars, test_fraction=settings.heldout_fraction)
        # The key comes from the record id, never from the symbol or other user text.
        artifact = ctx.artifacts.write(new_key(record_id), bot.to_files())
        _verify(plan, bot, artifact, plan.dataset.take(evaluation.split.test).inputs)
        decision, current_id = _decide(plan, name, evaluation.metrics)
        metrics = json_safe({**evaluation.metrics, "gate": decision.as_json()})
        lineage = build_lineage(
            label_set_id=plan.label_set_id, labeler=plan.labeler, bars=plan.bars, dataset=plan.dataset,
            split=evaluation.split, params=bot.params(), training_type=plan.training_type,
            wall_s=time.perf_counter() - started, fit_s=evaluation.fit_s, source=plan.source,
        )  # fmt: skip
        version = register_version(
            ctx.db, symbol=plan.symbol, timeframe=plan.timeframe, bot=name,
            artifact=artifact, metrics=metrics, params=json_safe(bot.params()), lineage=json_safe(lineage),
            label_set_id=plan.label_set_id, training_type=plan.training_type, training_record_id=record_id,
        )  # fmt: skip
    except BaseException as exc:
        if artifact is not None:
            ctx.artifacts.remove(artifact.key)
        finish_record(
            ctx.db, record_id, status="failed", wall_s=time.perf_counter() - started, error=str(exc)
        )
        raise
    activated, reason = False, decision.reason
    if decision.activate:
        try:
            activate(
                ctx, version.version_id, actor=plan.actor, reason=decision.reason, expect_active=current_id
            )
            activated = True
        except CandleLabError as exc:
            # Another switch won the race, or the artifact was refused: the version stays registered.
            reason = f"not activated: {exc}"
            metrics["gate"] = {**decision.as_json(), "activated": False, "reason": reason}
            set_metric(ctx.db, version.version_id, "gate", metrics["gate"])
    try:
        prune(ctx, plan.symbol, plan.timeframe, name)
    except Exception as exc:  # retention is housekeeping: a failure must not lose the new version
        log.warning("pruning old %s versions of %s %s failed: %s", name, plan.symbol, plan.timeframe, exc)
    wall_s = time.perf_counter() - started
    done = {"gate": metrics["gate"], "fit_s": round(evaluation.fit_s, 3)}
    finish_record(
        ctx.db, record_id, status="succeeded", wall_s=wall_s, version_id=version.version_id,
        samples_used=int(metrics["fitted_points"]), config=done,
    )  # fmt: skip
    log.info(
        "Successfully trained %s for %s %s: version %d in %.1fs, directional accuracy %s vs baseline %s "
        "on %d held-out points, validation accuracy %s; %s",
        name, plan.symbol, plan.timeframe, version.version_id, wall_s, metrics.get("directional_accuracy"),
        metrics.get("baseline_directional_accuracy"), metrics.get("directional_accuracy_n", 0),
        metrics.get("validation_accuracy"), "activated" if activated else f"not activated ({reason})",
    )  # fmt: skip
    return TrainedVersion(version.version_id, name, metrics, activated, reason, record_id, wall_s)
