"""`simulate`, `retrain` and `samples`: the continuous-learning loop from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from core.cli.label_commands import parse_end
from core.cli.output import CommandResult
from core.context import Context
from core.requests import PageRequest, RetrainSweep, parse

# Engine modules (torch, xgboost, pandas) are imported inside the handlers: building the parser
# must stay fast for every command, including `--help`.
OUTCOMES = ("open", "win", "loss")


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sim = subparsers.add_parser(
        "simulate",
        parents=[common],
        help="replay stored bars as paper trades, never on a bar the calling model saw",
        description=(
            "Plays the pair's active models, or its best candidate when nothing is live, over the "
            "newest --bars bars: after a version's training window its own model trades; inside it, "
            "the calls its walk-forward fold models made on their own out-of-sample bars. --version "
            "replays one saved version's own model on any stored range (--start/--end); bars it saw "
            "are skipped and counted."
        ),
    )
    sim.add_argument("--symbol", help="the pair's symbol (optional with --version)")
    sim.add_argument("--timeframe", help="the pair's timeframe (optional with --version)")
    sim.add_argument("--version", type=int, dest="version_id", help="replay this saved version")
    sim.add_argument("--start", type=parse_end, help="first bar time to replay (ISO date or datetime)")
    sim.add_argument("--end", type=parse_end, help="last bar time to replay (ISO date or datetime)")
    sim.add_argument(
        "--bars",
        type=int,
        default=2000,
        help="newest bars to replay when --start is not given (default 2000)",
    )
    sim.add_argument("--min-confidence", type=float, help="confidence a signal needs to be traded")
    sim.set_defaults(handler=_simulate)

    ret = subparsers.add_parser("retrain", parents=[common], help="retrain bots from recorded samples")
    ret.add_argument(
        "--min-samples", type=int, help="closed samples a bot needs (default RETRAIN_MIN_SAMPLES)"
    )
    ret.set_defaults(handler=_retrain)

    smp = subparsers.add_parser("samples", parents=[common], help="browse training samples")
    smp.add_argument("--symbol")
    smp.add_argument("--timeframe")
    smp.add_argument("--bot")
    smp.add_argument("--version", type=int, dest="version_id")
    smp.add_argument("--outcome", choices=OUTCOMES)
    smp.add_argument("--limit", type=int, default=50)
    smp.add_argument("--offset", type=int, default=0)
    smp.add_argument("--features", action="store_true", help="include each sample's features")
    smp.set_defaults(handler=_samples)


def _render_simulation(data: Mapping[str, Any]) -> str:
    lines = [
        f"{data['symbol']} {data['timeframe']}: {data['samples_recorded']} paper trades opened, "
        f"{data['closed']} closed, P&L {data['pnl']:+.4f} per unit, live accuracy "
        + ("n/a" if data["live_accuracy"] is None else f"{data['live_accuracy']:.1%}")
    ]
    for bot in data["bots"]:
        line = f"  {bot['bot']} (version {bot['version_id']}, {bot['chosen']}):"
        parts = []
        if bot["walkforward_bars"]:
            parts.append(
                f"{bot['walkforward_bars']} bars inside its training window called by the walk-forward fold "
                "model that never saw them"
            )
        parts.append(f"{bot['replayed_bars']} bars after its training window called by its own model")
        if bot["skipped_in_sample"]:
            parts.append(f"skipped {bot['skipped_in_sample']} bars its models saw (never counted)")
        lines.append(f"{line} {'; '.join(parts)}; opened {bot['opened']}, closed {bot['closed']}")
    for bot, error in data["errors"].items():
        lines.append(f"  {bot}: no signal ({error})")
    return "\n".join(lines)


def _simulate(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.errors import BadInput
    from core.learning.paper_trader import simulate
    from core.registry.versions import get_version
    from core.timeframes import normalise_symbol, parse_timeframe

    if args.version_id is not None:
        version = get_version(ctx.db, args.version_id)  # NotFound: exit 2
        symbol, timeframe = version.symbol, version.timeframe
        given = (
            normalise_symbol(args.symbol) if args.symbol else symbol,
            parse_timeframe(args.timeframe).code if args.timeframe else timeframe,
        )
        if given != (symbol, timeframe):
            raise BadInput(
                f"version {version.version_id} is a {symbol} {timeframe} model, not {given[0]} {given[1]}"
            )
    elif not (args.symbol and args.timeframe):
        raise BadInput("give --symbol and --timeframe, or --version")
    else:
        symbol, timeframe = args.symbol, args.timeframe
    result = simulate(
        ctx,
        symbol,
        timeframe,
        bars=args.bars,
        min_confidence=args.min_confidence,
        start=args.start,
        end=args.end,
        version_id=args.version_id,
    )
    warnings = []
    skipped = sum(b.skipped_in_sample for b in result.bots)
    if skipped:
        warnings.append(
            f"{skipped} replayed bar(s) had been seen by the model that would have called them and were "
            "not traded (outcomes there would not be out of sample)"
        )
    return CommandResult(result.as_json(), _render_simulation, warnings=warnings)


def _render_retrain(data: Mapping[str, Any]) -> str:
    lines = []
    for item in data["retrained"]:
        lines.append(
            f"retrained {item['bot']} for {item['symbol']} {item['timeframe']} on {item['samples']} samples: "
            f"version {item.get('version_id')}"
        )
    for item in data["skipped"]:
        where = " ".join(str(item[k]) for k in ("symbol", "timeframe", "bot") if k in item)
        lines.append(f"skipped {where}: {item['reason']}".replace("skipped :", "skipped:"))
    return "\n".join(lines) or "nothing to retrain"


def _retrain(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.cli.runs import foreground_runner
    from core.jobs.store import exit_code
    from core.services.actors import Actor
    from core.services.runs import start_retrain

    min_samples = args.min_samples if args.min_samples is not None else ctx.settings.retrain_min_samples
    sweep = parse(RetrainSweep, min_samples=min_samples)
    runner = foreground_runner(ctx)
    try:  # one retrain job per pair, each run here while the command waits
        started = start_retrain(runner, Actor.cli(), sweep)
    finally:
        runner.shutdown()
    data: dict[str, Any] = {"retrained": [], "skipped": list(started.skipped), "jobs": []}
    for job in started.jobs:
        data["jobs"].append(
            {"job_id": job.job_id, "symbol": job.symbol, "timeframe": job.timeframe, "status": job.status}
        )
        data["retrained"] += (job.result or {}).get("retrained", [])
        data["skipped"] += (job.result or {}).get("skipped", [])
        if exit_code(job.status) != 0:
            data["skipped"].append(
                {
                    "symbol": job.symbol,
                    "timeframe": job.timeframe,
                    "reason": f"job {job.job_id} {job.status}: {job.error}",
                }
            )
    if not started.jobs and not started.skipped:
        data["skipped"].append(
            {"reason": "no closed training samples yet; run `python -m core simulate` first"}
        )
    code = max((exit_code(job.status) for job in started.jobs), default=0)
    return CommandResult(data, _render_retrain, exit_code=code)


def _render_samples(data: Mapping[str, Any]) -> str:
    lines = [f"{data['total']} sample(s)"]
    for s in data["samples"]:
        outcome = "open" if s["status"] == "open" else f"{s['exit_reason']} {s['pnl']:+.4f}"
        lines.append(
            f"#{s['id']:<6} {s['predicted_at']} {s['symbol']} {s['timeframe']} {s['bot']:<15} "
            f"v{s['version_id']} {s['recommendation']:<4} conf {s['confidence']:.2f} "
            f"@ {s['entry_price']:.2f} -> {outcome}"
        )
    return "\n".join(lines)


def _samples(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.learning.queries import SampleFilter, list_samples
    from core.timeframes import normalise_symbol

    page = parse(PageRequest, limit=args.limit, offset=args.offset)
    filters = SampleFilter(
        symbol=normalise_symbol(args.symbol) if args.symbol else None,
        timeframe=args.timeframe,
        bot=args.bot,
        version_id=args.version_id,
        outcome=args.outcome,
    )
    found = list_samples(ctx.db, filters, limit=page.limit, offset=page.offset, with_features=args.features)
    return CommandResult({"total": found.total, "samples": found.samples}, _render_samples)
