"""`experiment` (run one) and `experiments` (list or reopen them): the labeler experiment (CONTRACTS §1)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from typing import Any

from core.bots import BOTS
from core.cli.label_commands import parse_end
from core.cli.output import CommandResult
from core.context import Context
from core.labeling.labelers import LABELERS
from core.labeling.schema import SAMPLINGS
from core.reporting import Callbacks
from core.requests import ExperimentRef, ExperimentRequest, PageRequest, parse
from core.timeframes import normalise_symbol, parse_timeframe

# The experiment engine (pandas, xgboost, PyTorch) is imported inside the handlers so that
# building the parser stays fast for every command.
log = logging.getLogger("core.cli")
DEFAULT_BOTS = ",".join(ExperimentRequest.model_fields["bots"].default)


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    exp = subparsers.add_parser(
        "experiment",
        parents=[common],
        help="train the same bots on each labeler's labels and compare them out of sample",
    )
    exp.add_argument("--symbol", required=True)
    exp.add_argument("--timeframe", required=True)
    exp.add_argument("--labelers", required=True, help=f"comma-separated, from {LABELERS.describe()}")
    exp.add_argument("--bots", default=DEFAULT_BOTS, help=f"comma-separated, from {BOTS.describe()}")
    samples = ExperimentRequest.model_fields["samples"].default
    exp.add_argument(
        "--samples", type=int, default=samples, help=f"points labeled by each labeler (default {samples})"
    )
    exp.add_argument("--sampling", choices=SAMPLINGS, default="mixed")
    exp.add_argument("--seed", type=int, default=0)
    exp.add_argument("--lookback-days", type=float)
    exp.add_argument("--end", type=parse_end, help="as of this time (ISO): later bars stay unseen")
    exp.add_argument("--folds", type=int, help="walk-forward folds (default WALKFORWARD_FOLDS)")
    exp.add_argument(
        "--force",
        action="store_true",
        help="rank an LLM labeler even on a window wholly before its model's knowledge cutoff "
        "(the result is marked as forced)",
    )
    exp.set_defaults(handler=_experiment)

    lst = subparsers.add_parser("experiments", parents=[common], help="list experiments, or reopen one")
    lst.add_argument("--id", type=int, dest="experiment_id", help="show this experiment in full")
    lst.add_argument("--symbol")
    lst.add_argument("--timeframe")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(handler=_experiments)


def _pct(value: object) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.1f}%"


def _signed(value: object) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:+.1f}%"


def _span(ci: object, signed: bool = False) -> str:
    if not isinstance(ci, list) or len(ci) != 2:
        return ""
    fmt = _signed if signed else _pct
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def render_experiment(data: Mapping[str, Any]) -> str:
    """The side-by-side table and the paired comparisons, as the report quotes them."""
    lines = [
        f"experiment {data['experiment_id']}: {data['symbol']} {data['timeframe']} ({data['status']}), "
        f"labelers {', '.join(data['labelers'])}; bots {', '.join(data['bots'])}",
        f"{'labeler':<11} {'bot':<15} {'dir. acc':>8} {'95% CI':>16} {'bars':>5} {'indep':>5} "
        f"{'baseline':>8} {'p(>base)':>8} {'P&L net':>8} {'P&L 95% CI':>18} {'trades':>6} {'max DD':>7} "
        f"{'price err':>9} {'no-change':>9}",
    ]
    for row in data["rows"]:
        m = row["metrics"]
        lines.append(
            f"{row['labeler']:<11} {row['bot']:<15} {_pct(m.get('directional_accuracy')):>8} "
            f"{_span(m.get('directional_accuracy_ci')):>16} {m.get('directional_accuracy_n', 0):>5} "
            f"{m.get('directional_effective_n', 0):>5} {_pct(m.get('baseline_directional_accuracy')):>8} "
            f"{m.get('directional_edge_p_value', float('nan')):>8.3f} {_signed(m.get('pnl')):>8} "
            f"{_span(m.get('pnl_ci'), signed=True):>18} {m.get('trades', 0):>6} "
            f"{_pct(m.get('max_drawdown')):>7} {_pct(m.get('price_error')):>9} "
            f"{_pct(m.get('price_error_baseline')):>9}"
        )
    if data["comparisons"]:
        lines.append(
            "paired (McNemar on the independent bars; block-bootstrap interval of the P&L difference):"
        )
    for c in data["comparisons"]:
        lines.append(
            f"  {c['bot']:<15} {c['a']} vs {c['b']}: right only {c['a_only']} vs {c['b_only']} of "
            f"{c['pairs']}, p = {c['p_value']:.3f}; P&L {_signed(c['pnl_a'])} vs {_signed(c['pnl_b'])}, "
            f"difference {_signed(c['pnl_difference'])} {_span(c['pnl_difference_ci'], signed=True)}"
        )
    params = data.get("params") or {}
    if params.get("forced"):
        lines.append(
            f"FORCED past the knowledge cutoff ({params.get('knowledge_cutoff')}): the LLM labeler's "
            "figures may measure memory, not skill"
        )
    if data.get("error"):
        lines.append(f"error: {data['error']}")
    return "\n".join(lines)


def _log_progress(fraction: float, stage: str) -> None:
    log.info("experiment %.0f%%: %s", fraction * 100, stage)


def _experiment(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services.actors import Actor
    from core.services.experiments import run_experiment

    request = parse(
        ExperimentRequest,
        symbol=args.symbol,
        timeframe=args.timeframe,
        labelers=args.labelers,
        bots=args.bots,
        samples=args.samples,
        sampling=args.sampling,
        seed=args.seed,
        lookback_days=args.lookback_days,
        end=args.end,
        folds=args.folds,
        force=args.force,
    )
    outcome = run_experiment(ctx, Actor.cli(), request, Callbacks(_log_progress))
    return CommandResult(outcome.as_json(), render_experiment)


def _render_list(data: Mapping[str, Any]) -> str:
    if not data["experiments"]:
        return "no experiments yet; `python -m core experiment --symbol S --timeframe TF --labelers a,b`"
    return "\n".join(
        f"{e['experiment_id']:>4} {e['symbol']} {e['timeframe']} {e['status']:<9} {e['created_at'][:19]} "
        f"labelers {','.join(e['labelers'])}; bots {','.join(e['bots'])}"
        for e in data["experiments"]
    )


def _experiments(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.experiments import store

    if args.experiment_id is not None:
        ref = parse(ExperimentRef, experiment_id=args.experiment_id)
        return CommandResult(store.load(ctx.db, ref.experiment_id).as_json(), render_experiment)
    page = parse(PageRequest, limit=args.limit)
    symbol = normalise_symbol(args.symbol) if args.symbol else None
    tf = parse_timeframe(args.timeframe).code if args.timeframe else None
    found = store.list_experiments(ctx.db, symbol=symbol, timeframe=tf, limit=page.limit)
    return CommandResult({"experiments": found}, _render_list)
