"""`train`, `versions`, `activate` and `rollback` (CONTRACTS §1)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from core.bots import BOTS
from core.cli.label_commands import parse_end
from core.cli.output import CommandResult
from core.context import Context
from core.labeling.labelers import LABELERS
from core.labeling.schema import SAMPLINGS
from core.llm_providers import LLM_PROVIDERS
from core.requests import ActivateRequest, PageRequest, RollbackRequest, TrainingRequest, parse
from core.timeframes import normalise_symbol, parse_timeframe

# Training, the registry and the bots (pandas, xgboost, PyTorch) are imported inside the handlers
# so that building the parser stays fast for every command.
HEADLINE = (
    "directional_accuracy",
    "baseline_directional_accuracy",
    "directional_accuracy_n",
    "directional_effective_n",
    "pnl",
)


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    tr = subparsers.add_parser("train", parents=[common], help="train bots on a label set, register versions")
    tr.add_argument("--symbol", required=True)
    tr.add_argument("--timeframe", required=True)
    tr.add_argument("--bots", default=",".join(BOTS.names()), help=f"comma-separated, from {BOTS.describe()}")
    tr.add_argument("--label-set", type=int, help="train on this existing label set")
    labels = tr.add_argument_group("label options (label first when no --label-set is given)")
    labels.add_argument("--lookback-days", type=float)
    labels.add_argument("--samples", type=int)
    labels.add_argument("--labeler", choices=LABELERS.names(), help=LABELERS.describe())
    labels.add_argument("--sampling", choices=SAMPLINGS)
    labels.add_argument("--seed", type=int)
    labels.add_argument(
        "--llm-provider",
        choices=LLM_PROVIDERS.names(),
        help=f"this run's LLM (default LLM_PROVIDER). {LLM_PROVIDERS.describe()}",
    )
    labels.add_argument(
        "--end",
        type=parse_end,
        help="train as of this time (ISO): later bars stay unseen, for honest replays",
    )
    tr.add_argument(
        "--activate",
        action="store_true",
        help="activate the new versions unconditionally (default: the gate)",
    )
    tr.set_defaults(handler=_train)

    ver = subparsers.add_parser("versions", parents=[common], help="list model versions")
    ver.add_argument("--symbol")
    ver.add_argument("--timeframe")
    ver.add_argument("--bot", choices=BOTS.names())
    ver.add_argument("--limit", type=int, default=200)
    ver.set_defaults(handler=_versions)

    act = subparsers.add_parser("activate", parents=[common], help="make a version the active one of its bot")
    act.add_argument("version_id", type=int)
    act.add_argument("--reason", default="manual activation")
    act.set_defaults(handler=_activate)

    back = subparsers.add_parser("rollback", parents=[common], help="re-activate the previous active version")
    back.add_argument("--symbol", required=True)
    back.add_argument("--timeframe", required=True)
    back.add_argument("--bot", required=True, choices=BOTS.names())
    back.add_argument("--reason")
    back.set_defaults(handler=_rollback)


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _render_train(data: Mapping[str, Any]) -> str:
    lines = [f"job {data['job_id']}: label set {data['label_set_id']}, {data['wall_s']:.1f}s"]
    for v in data["versions"]:
        m = v["metrics"]
        head = ", ".join(f"{k}={_fmt(m.get(k))}" for k in HEADLINE)
        state = "activated" if v["activated"] else "not activated"
        number = f"v{v.get('bot_version')} (#{v['version_id']})"
        lines.append(f"  {v['bot']:<16} {number}: {head}; {state} ({v['gate_reason']})")
    lines += [f"  {f['bot']:<16} FAILED: {f['error']}" for f in data.get("failed", [])]
    return "\n".join(lines)


def _label_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The labeling options given on the command line (None: none given)."""
    names = ("lookback_days", "samples", "labeler", "sampling", "seed", "end", "llm_provider")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return given or None


def _train(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.cli.runs import foreground_runner, job_result
    from core.services.actors import Actor
    from core.services.runs import start_training

    request = parse(
        TrainingRequest,
        symbol=args.symbol,
        timeframe=args.timeframe,
        kind="manual",
        bots=args.bots,
        label_set_id=args.label_set,
        labels=_label_options(args),
        activate="always" if args.activate else "gate",
    )
    runner = foreground_runner(ctx)
    try:  # every input problem surfaces before the job row exists (bad input writes nothing)
        job = start_training(runner, Actor.cli(), request)
    finally:
        runner.shutdown()
    # A run stopped before training (a budget stop with too few labels) still answers every key.
    empty = {"label_set_id": job.label_set_id, "versions": [], "failed": [], "wall_s": 0.0}
    data = {**empty, **(job.result or {}), "job_id": job.job_id, "status": job.status}
    warnings = [f"{f['bot']} failed: {f['error']}" for f in data.get("failed", [])]
    return job_result(job, data, _render_train, warnings)


def _render_versions(data: Mapping[str, Any]) -> str:
    if not data["versions"]:
        return "no model versions"
    lines = []
    for v in data["versions"]:
        m = v["metrics"]
        flag = "*" if v["is_active"] else " "
        head = ", ".join(f"{k}={_fmt(m.get(k))}" for k in HEADLINE)
        lines.append(
            f"{flag} {v['version_id']:>5} {v['symbol']} {v['timeframe']} {v['bot']:<16} {v['status']:<7} "
            f"{v['created_at'][:19]} {head}"
        )
    return "\n".join(lines)


def _versions(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.registry.versions import list_versions

    page = parse(PageRequest, limit=args.limit)
    symbol = normalise_symbol(args.symbol) if args.symbol else None
    tf = parse_timeframe(args.timeframe).code if args.timeframe else None
    versions = list_versions(ctx.db, symbol=symbol, timeframe=tf, bot=args.bot, limit=page.limit)
    return CommandResult({"versions": [v.as_json() for v in versions]}, _render_versions)


def _render_switch(data: Mapping[str, Any]) -> str:
    return f"version {data['version_id']} is active (previously {data['previous_active_id']})"


def _activate(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services import models
    from core.services.actors import Actor

    request = parse(ActivateRequest, version_id=args.version_id, reason=args.reason)
    return CommandResult(models.activate(ctx, Actor.cli(), request).as_json(), _render_switch)


def _rollback(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services import models
    from core.services.actors import Actor

    request = parse(
        RollbackRequest, symbol=args.symbol, timeframe=args.timeframe, bot=args.bot, reason=args.reason
    )
    return CommandResult(models.rollback(ctx, Actor.cli(), request).as_json(), _render_switch)
