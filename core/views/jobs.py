"""Training jobs, LLM spend and the scheduler's plan, as the chart's progress widget and the
Training page show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.bots import BOTS
from core.context import Context
from core.jobs import store
from core.jobs.store import JobView
from core.jobs.triggers import Staleness, failed_on_input, quick_request, staleness, training_request
from core.labeling.labelers import LABELERS
from core.labeling.llm import ledger
from core.labeling.llm.ledger import LedgerTotals
from core.labeling.sampling import SAMPLINGS
from core.requests import LabelOptions, TrainingRequest
from core.scheduling.tasks import plan
from core.settings import Settings

__all__ = ["LABELERS", "SAMPLINGS", "JobView", "LedgerTotals", "Staleness"]

ACTIVE = store.ACTIVE_STATUSES


def pair_job(ctx: Context, symbol: str, timeframe: str) -> JobView | None:
    """The pair's queued or running training job, else its most recent one (None: it never had one)."""
    active = store.active_job(ctx.db, symbol, timeframe)
    if active is not None:
        return active
    jobs = [
        j for j in store.list_jobs(ctx.db, symbol=symbol, timeframe=timeframe, limit=5) if j.kind != "label"
    ]
    return jobs[0] if jobs else None


def labeling_busy(ctx: Context, symbol: str, timeframe: str) -> bool:
    """Whether a label-only job for the pair is queued or running."""
    jobs = store.list_jobs(ctx.db, symbol=symbol, timeframe=timeframe, kind="label", limit=5)
    return any(job.active for job in jobs)


def freshness(ctx: Context, symbol: str, timeframe: str) -> Staleness:
    return staleness(ctx, symbol, timeframe)


def bot_choices() -> dict[str, str]:
    """The bots a page offers, by name, with their titles."""
    return BOTS.titles()


def labeler_choices(settings: Settings, *, auto: bool = False) -> dict[str, str]:
    """The labelers a page offers, with their titles: the LLM analyst only when it is configured;
    `auto` first when the run may leave the choice to the settings."""
    choices = {"auto": "Auto (LLM, else rules)"} if auto else {}
    usable = {e.name: e.title for e in LABELERS.entries() if settings.llm_configured or not e.uses_llm}
    return choices | usable


def full_training_defaults(ctx: Context, symbol: str, timeframe: str) -> TrainingRequest:
    """What the Training page offers first: the full-training settings (FULL_*)."""
    return training_request(ctx.settings, "full", symbol, timeframe)


def label_defaults(ctx: Context, symbol: str, timeframe: str) -> LabelOptions:
    """What the Labels page offers first: the quick-training numbers, widened for sparse series."""
    labels = quick_request(ctx, symbol, timeframe).labels
    assert labels is not None
    return labels


def get_job(ctx: Context, job_id: int) -> JobView:
    return store.get_job(ctx.db, job_id)


def recent_jobs(ctx: Context, limit: int = 50, status: str | None = None) -> list[JobView]:
    return store.list_jobs(ctx.db, status=status, limit=limit)


def is_active(job: JobView | None) -> bool:
    return job is not None and job.status in ACTIVE


def new_versions(job: JobView) -> list[dict[str, Any]]:
    """The versions a finished training job registered (its CONTRACTS `train` result)."""
    versions = (job.result or {}).get("versions") or []
    return [v for v in versions if isinstance(v, dict)]


def retrain_summary(result: dict[str, Any]) -> str:
    """What a retrain job did: the paper trades its replay recorded, and the versions it made."""
    parts = []
    replay = result.get("replay")
    if isinstance(replay, dict):
        parts.append(
            f"replay recorded {replay.get('samples_recorded', 0)} paper trades "
            f"({replay.get('closed', 0)} closed)"
        )
    made = [e for e in result.get("retrained") or [] if isinstance(e, dict)]
    if made:
        parts.append(
            "retrained " + ", ".join(f"{e.get('bot')} (version {e.get('version_id')})" for e in made)
        )
    else:
        parts.append("no new version (no bot had enough closed samples)")
    return "; ".join(parts)


def outcome_line(job: JobView) -> str:
    """One sentence for a toast or a table: what the job ended with."""
    what = f"{'Labeling' if job.kind == 'label' else 'Training'} of {job.symbol} {job.timeframe}"
    if job.status == "succeeded":
        versions = new_versions(job)
        if job.kind == "label":
            labeled = (job.result or {}).get("labeled", 0)
            return f"{what} finished: label set {job.label_set_id}, {labeled} labels."
        if job.kind == "retrain":
            return f"{what} finished: {retrain_summary(job.result or {})}."
        if not versions:
            return f"{what} finished (job {job.job_id})."
        names = "; ".join(_version_outcome(v) for v in versions)
        return f"{what} finished: {names}."
    if job.status in ACTIVE:
        return f"{what} is {job.status}: {job.stage}."
    # The message itself may quote a provider or an LLM reply: pages show it as plain text, not here.
    why = ": the full message is on the chart and the Training page" if job.error else ""
    return f"{what} {job.status.replace('_', ' ')} (job {job.job_id}){why}"


GATE_WORDS = {
    "promote": "beats its baseline",
    "keep_active": "beats its baseline, not the active version",
    "no_evidence": "no evidence of an edge",
    "below_baseline": "below its baseline",
}


def _version_outcome(v: dict[str, Any]) -> str:
    """ "xgb_agent v2 live (beats its baseline)", "lstm_bot v1 not live (no evidence of an edge)"."""
    name = f"{v.get('bot')} v{v.get('bot_version') or v.get('version_id')}"
    state = "live" if v.get("activated") else "not live"
    verdict = GATE_WORDS.get(v.get("gate_verdict") or "", v.get("gate_verdict") or "not judged")
    return f"{name} {state} ({verdict})"


@dataclass(frozen=True)
class Spend:
    spent_usd: float
    budget_usd: float

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.budget_usd - self.spent_usd)

    @property
    def share(self) -> float:
        return 0.0 if self.budget_usd <= 0 else min(1.0, self.spent_usd / self.budget_usd)


def spend_today(ctx: Context, now: datetime | None = None) -> Spend:
    spent = ledger.committed_today(ctx.db, now)
    return Spend(spent, ctx.settings.llm_daily_budget_usd)


def schedule(ctx: Context, scheduler_running: bool) -> list[dict[str, Any]]:
    """Each scheduled task with its next run; `running` says whether this process fires them."""
    return [{**row, "running_here": scheduler_running and row["enabled"]} for row in plan(ctx.settings)]


@dataclass(frozen=True)
class AutomaticFailure:
    """The pair's last automatic (quick) training failed: why, and whether it will be tried again."""

    job: JobView
    held: bool  # failed on its input with nothing changed since: not re-queued until data/settings change

    @property
    def summary(self) -> str:
        first = (self.job.error or "no message").strip().splitlines()[0]
        return first if len(first) <= 160 else first[:159] + "…"

    @property
    def next_step(self) -> str:
        if self.held:
            return (
                "It failed on its input, so it is not re-queued when the chart is opened: it is tried "
                "again once the pair's data or the settings change, or when you press Retrain now."
            )
        return (
            "It is tried again the next time the pair is opened while its models are stale, "
            "or on Retrain now."
        )


def automatic_failure(ctx: Context, symbol: str, timeframe: str) -> AutomaticFailure | None:
    """The pair's newest quick job when it failed and no training of the pair has succeeded since
    (None when it succeeded, runs, was superseded, or never ran)."""
    last = store.list_jobs(ctx.db, symbol=symbol, timeframe=timeframe, kind="quick", limit=1)
    if not last or last[0].status not in ("failed", "budget_exhausted", "interrupted"):
        return None
    newest = pair_job(ctx, symbol, timeframe)
    if newest is not None and newest.job_id > last[0].job_id and newest.status == "succeeded":
        return None
    held = failed_on_input(ctx, symbol, timeframe)
    return AutomaticFailure(last[0], held is not None and held.job_id == last[0].job_id)


def job_ledger(ctx: Context, job_id: int) -> LedgerTotals:
    """LLM calls and cost of one job, from the ledger (every attempt is on it, paid or failed)."""
    return ledger.job_totals(ctx.db, [job_id])[job_id]


def jobs_ledger(ctx: Context, job_ids: list[int]) -> dict[int, LedgerTotals]:
    """The same for a list of jobs, in one read session."""
    return ledger.job_totals(ctx.db, job_ids)


def version_results(job: JobView) -> list[dict[str, Any]]:
    """Per version a finished job registered: its bot number, whether it went live and the gate's word."""
    return [
        {
            "version_id": v.get("version_id"),
            "bot": v.get("bot"),
            "label": f"{v.get('bot')} v{v.get('bot_version') or v.get('version_id')}",
            "activated": bool(v.get("activated")),
            "gate_verdict": v.get("gate_verdict"),
            "gate_reason": v.get("gate_reason"),
            "directional_accuracy": (v.get("metrics") or {}).get("directional_accuracy"),
            "baseline": (v.get("metrics") or {}).get("baseline_directional_accuracy"),
            "n": (v.get("metrics") or {}).get("directional_accuracy_n"),
            "effective_n": (v.get("metrics") or {}).get("directional_effective_n"),
            "ci": (v.get("metrics") or {}).get("directional_accuracy_ci"),
        }
        for v in new_versions(job)
    ]
