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
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from core.bots.dataset import Dataset, build_dataset, check_trainable
from core.bots.factory import make_bot, parse_bots
from core.context import Context
from core.data.service import load_window
from core.errors import BadInput, CandleLabError
from core.evaluation.costs import costs_for
from core.evaluation.folds import MIN_TRAIN_POINTS, first_cut
from core.evaluation.metrics import Reality
from core.evaluation.stats import json_safe
from core.evaluation.walkforward import fit_and_evaluate, plan_split
from core.experiments import store
from core.experiments.compare import compare_all, pnl_interval
from core.labeling import store as label_store
from core.labeling.labelers import make_offline_labeler, resolve_labeler
from core.labeling.sampling import SAMPLINGS, eligible_positions
from core.labeling.schema import default_horizon
from core.labeling.service import run_labeling
from core.llm_providers import NOT_CONFIGURED
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger("core.experiments")

DEFAULT_SAMPLES = 200
# Kept out of the stored rows: only a deployed version needs its calibration map.
ROW_EXCLUDE = ("confidence_calibration",)

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class ExperimentRequest:
    """What to compare, validated once (`checked`) before anything is written."""

    symbol: str
    timeframe: str
    labelers: tuple[str, ...]
    bots: tuple[str, ...]
    samples: int = DEFAULT_SAMPLES
    sampling: str = "mixed"
    seed: int = 0
    lookback_days: float | None = None
    end: datetime | None = None
    folds: int | None = None
    bot_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    actor: str = "cli"

    def checked(self, ctx: Context) -> ExperimentRequest:
        symbol, tf = normalise_symbol(self.symbol), parse_timeframe(self.timeframe).code
        names = list(dict.fromkeys(resolve_labeler(ctx.settings, n) for n in self.labelers if n.strip()))
        if len(names) < 2:
            raise BadInput("an experiment compares at least two labelers, e.g. --labelers rules,next_price")
        if "llm" in names and not ctx.settings.llm_configured:
            raise BadInput(NOT_CONFIGURED)
        if not isinstance(self.samples, int) or self.samples < 2 * MIN_TRAIN_POINTS:
            raise BadInput(f"--samples must be a whole number of at least {2 * MIN_TRAIN_POINTS}")
        if self.sampling not in SAMPLINGS:
            raise BadInput(f"unknown sampling {self.sampling!r}; use one of {', '.join(SAMPLINGS)}")
        if self.lookback_days is not None and not (
            math.isfinite(self.lookback_days) and self.lookback_days > 0
        ):
            raise BadInput("--lookback-days must be a positive number of days")
        folds = ctx.settings.walkforward_folds if self.folds is None else self.folds
        if not isinstance(folds, int) or not 1 <= folds <= 20:
            raise BadInput("--folds must be a whole number from 1 to 20")
        bots = tuple(parse_bots(list(self.bots)))
        return ExperimentRequest(
            symbol,
            tf,
            tuple(names),
            bots,
            self.samples,
            self.sampling,
            self.seed,
            self.lookback_days,
            self.end,
            folds,
            dict(self.bot_params),
            self.actor,
        )

    def params(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "sampling": self.sampling,
            "seed": self.seed,
            "lookback_days": self.lookback_days,
            "end": self.end.isoformat() if self.end else None,
            "folds": self.folds,
        }


@dataclass
class ExperimentOutcome:
    experiment_id: int
    record: store.ExperimentRecord

    def as_json(self) -> dict[str, Any]:
        return self.record.as_json()


def _label(ctx: Context, req: ExperimentRequest, progress: ProgressFn) -> dict[str, int]:
    label_sets = {}
    for i, name in enumerate(req.labelers):
        progress(i / (2 * len(req.labelers)), f"labeling with {name}")
        result = run_labeling(
            ctx,
            req.symbol,
            req.timeframe,
            lookback_days=req.lookback_days,
            samples=req.samples,
            labeler=name,
            sampling=req.sampling,
            seed=req.seed,
            end=req.end,
        )
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
    progress: ProgressFn,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    horizon = default_horizon(req.timeframe)
    folds = int(req.folds or ctx.settings.walkforward_folds)
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
            progress(0.5 + 0.5 * done / total, f"walk-forward {bot} on {name} labels")
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
        "costs": costs.as_json(),
    }
    return rows, comparisons, window  # type: ignore[return-value]


class ExperimentFailed(CandleLabError):
    """The experiment started (rows were written) and could not finish."""


def _precheck(ctx: Context, req: ExperimentRequest) -> None:
    """Refuse a window too small for the points before anything is written."""
    bars, _ = load_window(ctx, req.symbol, req.timeframe, lookback_days=req.lookback_days, end=req.end)
    for name in req.labelers:
        ahead = 0 if name == "llm" else make_offline_labeler(name, req.timeframe).future_bars
        eligible = len(eligible_positions(len(bars), future_bars=ahead))
        if eligible < 2 * MIN_TRAIN_POINTS:
            raise BadInput(
                f"{req.symbol} {req.timeframe} has {len(bars)} bars in the window, {eligible} of them "
                f"eligible for {name} labels; an experiment needs at least {2 * MIN_TRAIN_POINTS}: "
                "use a longer window (--lookback-days) or fetch more history"
            )


def run_experiment(
    ctx: Context, request: ExperimentRequest, progress: ProgressFn | None = None
) -> ExperimentOutcome:
    """Label, train and judge every (labeler, bot); store and return the experiment."""
    req = request.checked(ctx)
    _precheck(ctx, req)
    report = progress or (lambda _f, _s: None)
    started = time.perf_counter()
    experiment_id = store.create(
        ctx.db,
        symbol=req.symbol,
        timeframe=req.timeframe,
        labelers=list(req.labelers),
        bots=list(req.bots),
        params=req.params(),
        requested_by=req.actor,
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
        label_sets = _label(ctx, req, report)
        bars, datasets = _datasets(ctx, req, label_sets)
        rows, comparisons, window = _evaluate(ctx, req, bars, datasets, label_sets, report)
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
    report(1.0, "done")
    return ExperimentOutcome(experiment_id, store.load(ctx.db, experiment_id))
