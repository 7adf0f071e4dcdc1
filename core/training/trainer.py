"""One bot of one training run: fit and evaluate walk-forward, write and verify the artifact,
register the version, let the promotion gate decide, prune old artifacts.

A version row is inserted only after its artifact is complete on disk, re-read under its SHA-256
and shown to reproduce the trained model's predictions, so nothing half-written can be activated.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.artifacts.base import ArtifactInfo, new_key
from core.bots.base import Bot
from core.bots.dataset import Dataset, Inputs
from core.bots.factory import load_bot, make_bot
from core.context import Context
from core.errors import ArtifactError, CandleLabError
from core.evaluation.costs import costs_for
from core.evaluation.folds import WalkForwardPlan
from core.evaluation.stats import json_safe
from core.evaluation.walkforward import Evaluation, bar_inputs, fit_and_evaluate
from core.labeling import store as label_store
from core.registry import gate
from core.registry.activation import activate
from core.registry.retention import prune
from core.registry.versions import VersionView, active_version, register_version, set_gate
from core.registry.walkforward_calls import CALLS_FILE, encode_calls
from core.training.lineage import build_lineage
from core.training.records import finish_record, start_record

log = logging.getLogger("core.training")

ACTIVATE_MODES = ("gate", "always", "never")
VERIFY_BARS = 256  # the reloaded artifact must reproduce the newest evaluated bars' predictions


@dataclass(frozen=True)
class TrainingPlan:
    """Everything the bots of one run share."""

    ctx: Context
    symbol: str
    timeframe: str
    bars: pd.DataFrame
    dataset: Dataset
    split: WalkForwardPlan
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
    label_sets: tuple[dict[str, Any], ...] = ()  # each labeler's set when several made the rows


@dataclass(frozen=True)
class TrainedVersion:
    version_id: int
    bot: str
    metrics: dict[str, Any]
    activated: bool
    gate_reason: str
    record_id: int
    wall_s: float
    gate_verdict: str = gate.NO_EVIDENCE  # what the gate thought, whatever the activation mode
    bot_version: int | None = None
    wants_activation: bool = False  # the gate's (or the caller's) decision, applied at commit
    expect_active: int | None = None  # the slot's active version when the decision was taken
    fit_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "bot": self.bot,
            "bot_version": self.bot_version,
            "activated": self.activated,
            "gate_verdict": self.gate_verdict,
            "gate_reason": self.gate_reason,
            "gate": self.metrics.get("gate"),
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
    """The gate's verdict always; whether it is applied depends on the run's activation mode."""
    settings = plan.ctx.settings
    current = active_version(plan.ctx.db, plan.symbol, plan.timeframe, name)
    current_id = current.version_id if current else None
    verdict = gate.decide(
        metrics, current, min_points=settings.promotion_min_effective, alpha=settings.promotion_alpha
    )
    if plan.activate == "always":
        reason = f"activation requested (the gate alone: {verdict.reason})"
        return replace(verdict, activate=True, reason=reason), current_id
    if plan.activate == "never":
        reason = f"activation not requested (the gate alone: {verdict.reason})"
        return replace(verdict, activate=False, reason=reason), current_id
    return verdict, current_id


def _start(plan: TrainingPlan, name: str) -> int:
    split = plan.split.as_json()
    return start_record(
        plan.ctx.db,
        job_id=plan.job_id,
        symbol=plan.symbol,
        timeframe=plan.timeframe,
        bot=name,
        training_type=plan.training_type,
        label_set_id=plan.label_set_id,
        config={
            "training_type": plan.training_type,
            "label_set_id": plan.label_set_id,
            "labeler": plan.labeler,
            "label_source": plan.source,
            "llm_calls": plan.llm_calls,
            "cost_usd": round(plan.cost_usd, 6),
            "labels": len(plan.dataset),
            "label_sets": list(plan.label_sets),
            "activate": plan.activate,
            "overrides": plan.bot_params.get(name, {}),
            **split,
        },
    )


def _register(
    plan: TrainingPlan,
    bot: Bot,
    evaluation: Evaluation,
    artifact: ArtifactInfo,
    decision: gate.GateDecision,
    record_id: int,
    started: float,
) -> VersionView:
    """Insert the version (inactive) with its metrics, lineage and the gate's verdict."""
    lineage = build_lineage(
        label_set_id=plan.label_set_id,
        labeler=plan.labeler,
        bars=plan.bars,
        dataset=plan.dataset,
        split=evaluation.plan,
        params=bot.params(),
        training_type=plan.training_type,
        wall_s=time.perf_counter() - started,
        fit_s=evaluation.fit_s,
        source=plan.source,
        label_sets=plan.label_sets,
    )
    with plan.ctx.db.read() as session:  # how many labels the model may have remembered
        lineage.update(label_store.firewall_counts(session, plan.label_set_id))
    return register_version(
        plan.ctx.db,
        symbol=plan.symbol,
        timeframe=plan.timeframe,
        bot=bot.name,
        artifact=artifact,
        metrics=json_safe({**evaluation.metrics, "gate": decision.as_json()}),
        params=json_safe(bot.params()),
        lineage=json_safe(lineage),
        label_set_id=plan.label_set_id,
        training_type=plan.training_type,
        training_record_id=record_id,
        gate_verdict=decision.verdict,
        gate_reason=decision.reason,
    )


def _fit_and_register(plan: TrainingPlan, name: str, record_id: int, started: float) -> TrainedVersion:
    """Fit, evaluate, write and verify the artifact, decide, register (inactive)."""
    ctx, settings = plan.ctx, plan.ctx.settings
    params = plan.bot_params.get(name, {})
    artifact: ArtifactInfo | None = None
    try:
        evaluation = fit_and_evaluate(
            lambda: make_bot(name, settings, seed=plan.seed, timeframe=plan.timeframe, **params),
            plan.dataset,
            plan.bars,
            plan.split,
            costs=costs_for(settings, plan.symbol),
        )
        bot = evaluation.bot
        assert bot is not None  # fit_and_evaluate fits the version's model by default
        # The key comes from the record id, never from the symbol or other user text.
        oos = evaluation.oos
        calls = encode_calls(
            oos.predictions, bar_inputs(plan.dataset.inputs, plan.bars, oos.positions), oos.fold
        )
        artifact = ctx.artifacts.write(new_key(record_id), {**bot.to_files(), CALLS_FILE: calls})
        probe = bar_inputs(plan.dataset.inputs, plan.bars, evaluation.oos.positions[-VERIFY_BARS:])
        _verify(plan, bot, artifact, probe)
        decision, current_id = _decide(plan, name, evaluation.metrics)
        version = _register(plan, bot, evaluation, artifact, decision, record_id, started)
    except BaseException as exc:
        if artifact is not None:
            ctx.artifacts.remove(artifact.key)
        finish_record(
            ctx.db, record_id, status="failed", wall_s=time.perf_counter() - started, error=str(exc)
        )
        raise
    wall_s = time.perf_counter() - started
    return TrainedVersion(
        version.version_id,
        name,
        version.metrics,
        False,
        decision.reason,
        record_id,
        wall_s,
        gate_verdict=decision.verdict,
        bot_version=version.bot_version,
        wants_activation=decision.activate,
        expect_active=current_id,
        fit_s=evaluation.fit_s,
    )


def train_bot(plan: TrainingPlan, name: str) -> TrainedVersion:
    """Train one bot and register its version, inactive: activation waits for the run to commit."""
    started = time.perf_counter()
    record_id = _start(plan, name)
    trained = _fit_and_register(plan, name, record_id, started)
    m = trained.metrics
    finish_record(
        plan.ctx.db,
        record_id,
        status="succeeded",
        wall_s=trained.wall_s,
        version_id=trained.version_id,
        samples_used=int(m["fitted_points"]),
        config={"gate": m["gate"], "fit_s": round(trained.fit_s, 3)},
    )
    log.info(
        "Successfully trained %s for %s %s: version %d in %.1fs, directional accuracy %s vs baseline %s "
        "on %d out-of-sample bars (%d independent), validation accuracy %s; gate %s: %s",
        *(name, plan.symbol, plan.timeframe, trained.version_id, trained.wall_s),
        *(m.get("directional_accuracy"), m.get("baseline_directional_accuracy")),
        *(m.get("directional_accuracy_n", 0), m.get("directional_effective_n", 0)),
        *(m.get("validation_accuracy"), trained.gate_verdict, trained.gate_reason),
    )
    return trained


def commit_version(plan: TrainingPlan, trained: TrainedVersion) -> TrainedVersion:
    """Apply the gate's decision for one registered version (at the end of its run), then prune."""
    return commit_trained(plan.ctx, plan.symbol, plan.timeframe, plan.actor, trained)


def commit_trained(
    ctx: Context, symbol: str, timeframe: str, actor: str, trained: TrainedVersion
) -> TrainedVersion:
    """`commit_version` for a run whose bots trained elsewhere (a fanned-out job commits here)."""
    activated, reason = False, trained.gate_reason
    if trained.wants_activation:
        try:
            activate(
                ctx,
                trained.version_id,
                actor=actor,
                reason=reason,
                expect_active=trained.expect_active,
                committing=True,
            )
            activated = True
        except CandleLabError as exc:
            # Another switch won the race, or the artifact was refused: the version stays registered.
            reason = f"not activated: {exc}"
            gate_json = {**trained.metrics["gate"], "activated": False, "reason": reason}
            trained = replace(trained, metrics={**trained.metrics, "gate": gate_json})
            set_gate(ctx.db, trained.version_id, trained.gate_verdict, reason, gate_json)
    try:
        prune(ctx, symbol, timeframe, trained.bot)
    except Exception as exc:  # retention is housekeeping: a failure must not lose the new version
        log.warning("pruning old %s versions of %s %s failed: %s", trained.bot, symbol, timeframe, exc)
    log.info(
        "%s version %d %s",
        trained.bot,
        trained.version_id,
        "activated" if activated else f"kept inactive ({reason})",
    )
    return replace(trained, activated=activated, gate_reason=reason)
