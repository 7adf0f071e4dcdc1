"""Run a labeler experiment: label one window with each labeler, train the same bots on each label
set over the same walk-forward folds, and judge them all on the same out-of-sample bars.

The folds are shared: each labeler's labels would allow its own first cut, and the latest of
those is used for everyone, so every (labeler, bot) is judged on identical bars with identical
costs; only the labels differ. Nothing is registered as a model version (an experiment measures,
it does not deploy); the label sets are stored as usual (an LLM run is on the ledger) and the
experiment with its rows and paired comparisons is stored so the page can reopen it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.bots.dataset import Dataset, build_dataset, check_trainable
from core.bots.factory import make_bot
from core.context import Context
from core.data.supply import load_window
from core.errors import BadInput, CandleLabError
from core.evaluation.costs import costs_for
from core.evaluation.folds import MIN_TRAIN_POINTS, first_cut
from core.evaluation.metrics import Reality
from core.evaluation.stats import json_safe
from core.evaluation.walkforward import fit_and_evaluate, plan_split
from core.experiments import store
from core.experiments.compare import compare_all, pnl_interval
from core.labeling import store as label_store
from core.labeling.schema import default_horizon
from core.labeling.service import label
from core.reporting import NULL_REPORTER, Reporter, Span
from core.requests import ExperimentRequest, LabelingRequest

log = logging.getLogger("core.experiments")

MIN_SAMPLES = 2 * MIN_TRAIN_POINTS  # points per labeler: enough for a first fold and the periods after
# Kept out of the stored rows: only a deployed version needs its calibration map.
ROW_EXCLUDE = ("confidence_calibration",)


def folds_of(ctx: Context, request: ExperimentRequest) -> int:
    return ctx.settings.walkforward_folds if request.folds is None else request.folds


def _params(ctx: Context, request: ExperimentRequest) -> dict[str, Any]:
    return {
        "samples": request.samples,
        "sampling": request.sampling,
        "seed": request.seed,
        "lookback_days": request.lookback_days,
        "end": request.end.isoformat() if request.end else None,
        "folds": folds_of(ctx, request),
        **_firewall(ctx, request),
    }


def _firewall(ctx: Context, request: ExperimentRequest) -> dict[str, Any]:
    """How the experiment stands with the LLM's knowledge cutoff: `forced` when run past its refusal."""
    if "llm" not in request.labelers:
        return {}
    return {"knowledge_cutoff": ctx.settings.knowledge_cutoff.isoformat(), "forced": request.force}


@dataclass
class ExperimentOutcome:
    experiment_id: int
    record: store.ExperimentRecord

    def as_json(self) -> dict[str, Any]:
        return self.record.as_json()


def _label(ctx: Context, req: ExperimentRequest, reporter: Reporter) -> dict[str, int]:
    """One label set per labeler over the same window (the first half of the progress bar)."""
    label_sets = {}
    share = 0.5 / len(req.labelers)
    for i, name in enumerate(req.labelers):
        reporter.progress(i * share, f"labeling with {name}")
        request = LabelingRequest(
            symbol=req.symbol,
            timeframe=req.timeframe,
            lookback_days=req.lookback_days,
            samples=req.samples,
            labeler=name,
            sampling=req.sampling,
            seed=req.seed,
            end=req.end,
        )
        result = label(ctx, request, Span(reporter, i * share, (i + 1) * share))
        if result.status not in ("succeeded", "budget_exhausted"):
            raise BadInput(f"labeling with {name} ended {result.status}: {result.message}")
        label_sets[name] = result.label_set_id
    return label_sets


def _datasets(
    ctx: Context, req: ExperimentRequest, label_sets: dict[str, int]
) -> tuple[pd.DataFrame, dict[str, Dataset]]:
    with ctx.db.read() as session:
        ends = [label_store.get_label_set(session, i).data_end for i in label_sets.values()]
        labels = {name: label_store.load_labels(session, i) for name, i in label_sets.items()}
    bars, _ = load_window(ctx, req.symbol, req.timeframe, end=min(e for e in ends if e is not None))
    horizon = default_horizon(req.timeframe)
    datasets = {}
    for name, frame in labels.items():
        dataset = build_dataset(bars, frame, default_horizon=horizon)
        check_trainable(dataset, min_points=MIN_TRAIN_POINTS, what=f"the {name} labels")
        datasets[name] = dataset
    return bars, datasets


def _row(
    labeler: str, bot: str, label_set_id: int, score: Reality, metrics: dict[str, Any], horizon: int
) -> dict[str, Any]:
    kept = {k: v for k, v in metrics.items() if k not in ROW_EXCLUDE}
    kept["pnl_ci"] = pnl_interval(score, horizon)
    return {"labeler": labeler, "bot": bot, "label_set_id": label_set_id, "metrics": json_safe(kept)}


def _evaluate(
    ctx: Context,
    req: ExperimentRequest,
    bars: pd.DataFrame,
    datasets: dict[str, Dataset],
    label_sets: dict[str, int],
    reporter: Reporter,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    horizon = default_horizon(req.timeframe)
    folds = folds_of(ctx, req)
    start = max(
        first_cut(
            d.inputs.positions, d.targets.horizon, folds=folds, embargo=horizon, min_train=MIN_TRAIN_POINTS
        )
        for d in datasets.values()
    )
    plans = {name: plan_split(d, folds, horizon=horizon, start=start) for name, d in datasets.items()}
    costs = costs_for(ctx.settings, req.symbol)
    rows, scores = [], {}
    total = len(datasets) * len(req.bots)
    for i, (name, dataset) in enumerate(datasets.items()):
        for j, bot in enumerate(req.bots):
            done = i * len(req.bots) + j
            reporter.progress(0.5 + 0.5 * done / total, f"walk-forward {bot} on {name} labels")
            params = req.bot_params.get(bot, {})
            evaluation = fit_and_evaluate(
                lambda b=bot, p=params: make_bot(
                    b, ctx.settings, seed=req.seed, timeframe=req.timeframe, **p
                ),
                dataset,
                bars,
                plans[name],
                costs=costs,
                final=False,
            )
            scores[(name, bot)] = evaluation.reality
            rows.append(_row(name, bot, label_sets[name], evaluation.reality, evaluation.metrics, horizon))
    comparisons = json_safe(compare_all(scores, list(datasets), list(req.bots), horizon))
    window = {
        **next(iter(plans.values())).as_json(),
        "first_bar": bars.index[0].isoformat(),
        "last_bar": bars.index[-1].isoformat(),
        "heldout_start": bars.index[start].isoformat(),
        **_heldout_before_cutoff(ctx, req, bars.index[start:]),
        "costs": costs.as_json(),
    }
    return rows, comparisons, window  # type: ignore[return-value]


def _heldout_before_cutoff(ctx: Context, req: ExperimentRequest, heldout: pd.DatetimeIndex) -> dict[str, int]:
    """How many judged bars lie before the LLM's cutoff: there its labels may carry remembered futures."""
    if "llm" not in req.labelers:
        return {}
    cutoff = pd.Timestamp(ctx.settings.knowledge_cutoff, tz="UTC") + pd.Timedelta(days=1)
    return {"heldout_bars": len(heldout), "heldout_bars_before_cutoff": int((heldout < cutoff).sum())}


class ExperimentFailed(CandleLabError):
    """The experiment started (rows were written) and could not finish."""


def run_experiment(
    ctx: Context, req: ExperimentRequest, reporter: Reporter = NULL_REPORTER, *, actor: str
) -> ExperimentOutcome:
    """Label, train and judge every (labeler, bot); store and return the experiment.

    `req` has passed `core.checks.check` (labelers known, the window large enough) at the edge.
    """
    started = time.perf_counter()
    experiment_id = store.create(
        ctx.db,
        symbol=req.symbol,
        timeframe=req.timeframe,
        labelers=list(req.labelers),
        bots=list(req.bots),
        params=_params(ctx, req),
        requested_by=actor,
    )
    log.info(
        "experiment %d on %s %s: labelers %s, bots %s",
        experiment_id,
        req.symbol,
        req.timeframe,
        ",".join(req.labelers),
        ",".join(req.bots),
    )
    label_sets: dict[str, int] = {}
    try:
        label_sets = _label(ctx, req, reporter)
        bars, datasets = _datasets(ctx, req, label_sets)
        rows, comparisons, window = _evaluate(ctx, req, bars, datasets, label_sets, reporter)
    except BaseException as exc:
        store.finish(
            ctx.db,
            experiment_id,
            status="failed",
            wall_s=time.perf_counter() - started,
            label_sets=label_sets,
            error=f"{type(exc).__name__}: {exc}",
        )
        if isinstance(exc, BadInput):  # rows exist now: not "nothing written", so not exit 2
            raise ExperimentFailed(f"experiment {experiment_id} failed: {exc}") from exc
        raise
    store.finish(
        ctx.db,
        experiment_id,
        status="succeeded",
        wall_s=time.perf_counter() - started,
        rows=rows,
        comparisons=comparisons,
        label_sets=label_sets,
        params={"window": window},
    )
    reporter.progress(1.0, "done")
    return ExperimentOutcome(experiment_id, store.load(ctx.db, experiment_id))
