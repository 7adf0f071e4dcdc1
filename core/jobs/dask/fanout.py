"""Fan-out: the bots of one job trained as separate parts on a cluster, committed by the job.

A full training or a nightly retrain of a pair stays one job (one row, the pair's slot). On Dask,
its body first prepares in a child process (the labels for a full training, fresh bars and the
ready bots for a retrain), then trains every (pair, bot) as a task of its own, so a watchlist's
bots train side by side. The rules:

- **Progress adds up**: the preparation owns the first `prepare_share` of the job's bar, each part
  an equal share of the rest; the job's row shows the sum as parts end.
- **Activation waits for the job**: a part registers its version inactive with the gate's
  decision; the job applies the decisions in bot order once every part has ended. A job that is
  cancelled, or whose process dies, activates nothing, and its versions are discarded.
- **One part failing loses nothing else**: a failed part is listed in the result's `failed`
  (bot and error) and the others' versions are committed; the job succeeds unless every part
  failed (then it fails, as a run whose every bot failed does).
- **No half versions**: a part that registers after its job has ended (cancelled, interrupted)
  discards its own version; a version whose part result never reached the job is discarded at
  commit.

The functions here hold the rules; `core.jobs.dask.tasks` ships them to workers.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from core.context import Context
from core.data.supply import load_window
from core.db.models import ModelTrainingRecord
from core.db.types import utcnow
from core.errors import CandleLabError, JobCancelled
from core.jobs import store
from core.jobs.bodies import JobEnd
from core.jobs.recovery import job_versions
from core.jobs.store import JobView
from core.learning.retrain import outcome_frame, ready_bots, replay_first, retrained_entries
from core.registry.versions import discard_versions
from core.reporting import Reporter, Span
from core.requests import RetrainRequest, TrainingRequest
from core.training.service import (
    LABELING_SHARE,
    RunOptions,
    TrainingFailed,
    TrainingResult,
    label_set_frame,
    label_stage,
    plan_run,
)
from core.training.trainer import TrainedVersion, commit_trained, train_bot

log = logging.getLogger(__name__)

FANOUT_KINDS = frozenset({"full", "retrain"})
SHORT_PREPARE_SHARE = 0.05  # a preparation without labeling (a given label set, a retrain's bars)
COMMIT_AT = 0.98


@dataclass(frozen=True)
class Prepared:
    """What the preparation stage hands to the parts (JSON-able: it crosses processes)."""

    bots: tuple[str, ...]
    label_set_id: int | None = None
    budget_stop: str | None = None
    skipped: tuple[dict[str, Any], ...] = ()
    labeled: bool = False

    @property
    def prepare_share(self) -> float:
        return LABELING_SHARE if self.labeled else SHORT_PREPARE_SHARE

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Prepared:
        return cls(**{**data, "bots": tuple(data["bots"]), "skipped": tuple(data["skipped"])})


@dataclass(frozen=True)
class PartResult:
    """How one (pair, bot) part ended: `trained` (a registered, uncommitted version), `skipped`
    (a retrain bot whose outcomes cannot be trained on), `failed` or `cancelled`."""

    bot: str
    status: str
    version: dict[str, Any] | None = None  # TrainedVersion's fields
    error: str | None = None
    retrain: dict[str, Any] = field(default_factory=dict)  # base and predecessors of a retrain

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartResult:
        return cls(**data)

    @property
    def trained(self) -> TrainedVersion | None:
        return TrainedVersion(**self.version) if self.version is not None else None


# --- the preparation stage (in a child process) --------------------------------------------
def prepare(ctx: Context, job: JobView, reporter: Reporter) -> Prepared:
    """Labels for a full training (unless it names a label set); fresh bars for a retrain."""
    request = job.request
    if isinstance(request, RetrainRequest):
        if request.replay_bars:
            replay_first(ctx, request, reporter)
        ready, skipped = ready_bots(ctx, request)
        if ready:
            reporter.progress(0.0, "loading bars")
            load_window(ctx, request.symbol, request.timeframe, refresh=True, bypass_cache=True)
        return Prepared(tuple(ready), skipped=tuple(skipped))
    assert isinstance(request, TrainingRequest)
    if request.label_set_id is not None:
        return Prepared(request.bots, request.label_set_id)
    labeled = label_stage(ctx, request, Span(reporter, 0.0, LABELING_SHARE), job.job_id)
    budget_stop = labeled.message if labeled.status == "budget_exhausted" else None
    reporter.spend(label_set_id=labeled.label_set_id, llm_calls=labeled.api_calls, cost_usd=labeled.cost_usd)
    return Prepared(request.bots, labeled.label_set_id, budget_stop, labeled=True)


# --- one part (in a child process on some worker) -------------------------------------------
def train_part(ctx: Context, job: JobView, bot: str, prepared: Prepared) -> PartResult:
    """Train and register one bot of the job, inactive; nothing is kept if the job has ended."""
    if store.cancel_requested(ctx.db, job.job_id):
        return PartResult(bot, "cancelled", error="cancelled before it started")
    try:
        trained, retrain = _train(ctx, job, bot, prepared)
    except _Skipped as exc:
        return PartResult(bot, "skipped", error=str(exc), retrain=exc.retrain)
    except Exception as exc:
        log.exception("AI training of %s for %s %s failed", bot, job.symbol, job.timeframe)
        return PartResult(bot, "failed", error=f"{type(exc).__name__}: {exc}")
    now = store.get_job(ctx.db, job.job_id)
    if now.status != "running" or now.cancel_requested:
        discard_versions(ctx.db, [trained.version_id], f"its job was {now.status} before it committed")
        return PartResult(bot, "cancelled", error=f"its job was {now.status}; version discarded")
    return PartResult(bot, "trained", dataclasses.asdict(trained), retrain=retrain)


class _Skipped(CandleLabError):
    def __init__(self, message: str, retrain: dict[str, Any]) -> None:
        super().__init__(message)
        self.retrain = retrain


def _train(ctx: Context, job: JobView, bot: str, prepared: Prepared) -> tuple[TrainedVersion, dict[str, Any]]:
    request = job.request
    if isinstance(request, RetrainRequest):
        options = RunOptions(bots=(bot,), training_type="retrain", job_id=job.job_id, actor=job.requested_by)
        bars, _ = load_window(ctx, job.symbol, job.timeframe)
        outcome = outcome_frame(ctx, job.symbol, job.timeframe, bot, bars)
        retrain = {"base": outcome.base, "predecessors": outcome.predecessors}
        try:
            plan = plan_run(ctx, job.symbol, job.timeframe, outcome.frame, options)
        except CandleLabError as exc:  # as the sequential retrain does: a skip, not a failure
            raise _Skipped(str(exc), retrain) from None
        return train_bot(plan, bot), retrain
    assert isinstance(request, TrainingRequest) and prepared.label_set_id is not None
    options = RunOptions(
        bots=(bot,),
        activate=request.activate,
        training_type=request.kind,
        job_id=job.job_id,
        actor=job.requested_by,
        seed=request.seed,
        bot_params=dict(request.bot_params),
    )
    frame = label_set_frame(ctx, prepared.label_set_id, (job.symbol, job.timeframe))
    return train_bot(plan_run(ctx, job.symbol, job.timeframe, frame, options), bot), {}


def close_part(ctx: Context, job_id: int, bot: str, why: str) -> None:
    """A part whose process died: its training record is closed as failed."""
    with ctx.db.session() as session:
        session.execute(
            update(ModelTrainingRecord)
            .where(
                ModelTrainingRecord.job_id == job_id,
                ModelTrainingRecord.bot == bot,
                ModelTrainingRecord.status == "running",
            )
            .values(status="failed", error=why, finished_at=utcnow())
        )


# --- progress and commit (in the job's own process) ------------------------------------------
def progress(prepared: Prepared, done: int, total: int) -> tuple[float, str]:
    share = prepared.prepare_share
    fraction = share + (COMMIT_AT - share) * (done / total if total else 1.0)
    return fraction, f"training {total} bots as parts: {done} done"


def commit(
    ctx: Context, job: JobView, prepared: Prepared, results: list[PartResult], wall_s: float
) -> JobEnd:
    """Apply the parts' activations (bot order), discard what never reached the job, and say how it ended."""
    by_bot = {r.bot: r for r in results}
    ordered = [by_bot[b] for b in prepared.bots if b in by_bot]
    trained = [r for r in ordered if r.status == "trained"]
    if store.cancel_requested(ctx.db, job.job_id) or any(r.status == "cancelled" for r in ordered):
        ids = [r.trained.version_id for r in trained if r.trained]
        discard_versions(ctx.db, ids, "the run was cancelled before it committed")
        raise JobCancelled(f"training cancelled before its versions went live ({len(ids)} discarded)")
    failed = [{"bot": r.bot, "error": r.error or "failed"} for r in ordered if r.status == "failed"]
    if failed and not trained and isinstance(job.request, TrainingRequest):
        raise TrainingFailed("every bot failed: " + "; ".join(f"{f['bot']}: {f['error']}" for f in failed))
    committed = [
        (r, commit_trained(ctx, job.symbol, job.timeframe, job.requested_by, r.trained))
        for r in trained
        if r.trained is not None
    ]
    _discard_strays(ctx, job.job_id, {v.version_id for _r, v in committed})
    if isinstance(job.request, RetrainRequest):
        return _retrain_end(ctx, prepared, ordered, committed, failed)
    result = TrainingResult([v for _r, v in committed], wall_s, prepared.label_set_id, job.job_id, failed)
    if prepared.budget_stop:
        message = f"{prepared.budget_stop}; trained on the labels it has"
        return JobEnd("budget_exhausted", result.as_json(), message)
    return JobEnd("succeeded", result.as_json())


def _retrain_end(
    ctx: Context,
    prepared: Prepared,
    ordered: list[PartResult],
    committed: list[tuple[PartResult, TrainedVersion]],
    failed: list[dict[str, str]],
) -> JobEnd:
    retrained: list[dict[str, Any]] = []
    for part, version in committed:
        base, predecessors = part.retrain["base"], part.retrain["predecessors"]
        retrained += retrained_entries(ctx, base, predecessors, [version])
    skipped = list(prepared.skipped)
    skipped += [
        {**r.retrain.get("base", {"bot": r.bot}), "reason": r.error} for r in ordered if r.status == "skipped"
    ]
    return JobEnd("succeeded", {"retrained": retrained, "skipped": skipped, "failed": failed})


def _discard_strays(ctx: Context, job_id: int, kept: set[int]) -> None:
    """Versions of the job that no part reported (a part's process died after registering)."""
    with ctx.db.read() as session:
        strays = [v for v, active in job_versions(session, job_id) if v not in kept and not active]
    if strays:
        discard_versions(ctx.db, strays, "its part never reported to the job")
