"""`train`, `versions`, `activate` and `rollback` (CONTRACTS §1)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from core.bots import BOT_NAMES
from core.cli.label_commands import parse_end
from core.cli.output import CommandResult
from core.context import Context
from core.errors import JobCancelled
from core.labeling.llm.providers import PROVIDER_NAMES
from core.labeling.schema import LABELERS, SAMPLINGS
from core.timeframes import normalise_symbol, parse_timeframe

# Training, the registry and the bots (pandas, xgboost, PyTorch) are imported inside the handlers
# so that building the parser stays fast for every command.
HEADLINE = ("directional_accuracy", "baseline_directional_accuracy", "directional_accuracy_n", "pnl")


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    tr = subparsers.add_parser("train", parents=[common], help="train bots on a label set, register versions")
    tr.add_argument("--symbol", required=True)
    tr.add_argument("--timeframe", required=True)
    tr.add_argument(
        "--bots", default=",".join(BOT_NAMES), help=f"comma-separated, from {', '.join(BOT_NAMES)}"
    )
    tr.add_argument("--label-set", type=int, help="train on this existing label set")
    labels = tr.add_argument_group("label options (label first when no --label-set is given)")
    labels.add_argument("--lookback-days", type=float)
    labels.add_argument("--samples", type=int)
    labels.add_argument("--labeler", choices=LABELERS)
    labels.add_argument("--sampling", choices=SAMPLINGS)
    labels.add_argument("--seed", type=int)
    labels.add_argument(
        "--llm-provider", choices=PROVIDER_NAMES, help="this run's LLM (default LLM_PROVIDER)"
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
    ver.add_argument("--bot", choices=BOT_NAMES)
    ver.add_argument("--limit", type=int, default=200)
    ver.set_defaults(handler=_versions)

    act = subparsers.add_parser("activate", parents=[common], help="make a version the active one of its bot")
    act.add_argument("version_id", type=int)
    act.add_argument("--reason", default="manual activation")
    act.set_defaults(handler=_activate)

    back = subparsers.add_parser("rollback", parents=[common], help="re-activate the previous active version")
    back.add_argument("--symbol", required=True)
    back.add_argument("--timeframe", required=True)
    back.add_argument("--bot", required=True, choices=BOT_NAMES)
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
        lines.append(f"  {v['bot']:<16} version {v['version_id']}: {head}; {state} ({v['gate_reason']})")
    lines += [f"  {f['bot']:<16} FAILED: {f['error']}" for f in data.get("failed", [])]
    return "\n".join(lines)


def _train(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.jobs.store import create_job, finish_job
    from core.training.service import check_label_set, check_request, train

    ctx = ctx.for_llm_provider(args.llm_provider)
    labeling = {
        key: value
        for key, value in (
            ("lookback_days", args.lookback_days),
            ("samples", args.samples),
            ("labeler", args.labeler),
            ("sampling", args.sampling),
            ("seed", args.seed),
            ("end", args.end),
        )
        if value is not None
    }
    mode = "always" if args.activate else "gate"
    # Every input problem surfaces here, before the job row exists (bad input writes nothing).
    symbol, tf, bots = check_request(
        ctx, args.symbol, args.timeframe, bots=args.bots, label_set_id=args.label_set,
        labeling=labeling or None, activate=mode,
    )  # fmt: skip
    if args.label_set is not None:
        check_label_set(ctx, symbol, tf, args.label_set)
    # The same params shape the background job bodies read (labeling options at the top level).
    params = {"bots": bots, "label_set_id": args.label_set, "activate": mode, **labeling}
    if args.llm_provider:
        params["llm_provider"] = args.llm_provider
    if args.end is not None:
        params["end"] = args.end.isoformat()  # job params are JSON
    job = create_job(ctx.db, "manual", symbol, tf, params=params, requested_by="cli", status="running")
    try:
        result = train(
            ctx, symbol, tf, bots=bots, label_set_id=args.label_set, labeling=labeling or None,
            activate=mode, training_type="manual", job_id=job.job_id, actor="cli",
        )  # fmt: skip
    except JobCancelled as exc:
        finish_job(ctx.db, job.job_id, "cancelled", error=str(exc))
        raise
    except BaseException as exc:
        finish_job(ctx.db, job.job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    summary = {"versions": [v.version_id for v in result.versions], "failed": result.failed}
    finish_job(ctx.db, job.job_id, "succeeded", result=summary, label_set_id=result.label_set_id)
    data = result.as_json()
    data["job_id"] = job.job_id
    warnings = [f"{f['bot']} failed: {f['error']}" for f in result.failed]
    return CommandResult(data, _render_train, exit_code=1 if result.failed else 0, warnings=warnings)


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

    symbol = normalise_symbol(args.symbol) if args.symbol else None
    tf = parse_timeframe(args.timeframe).code if args.timeframe else None
    versions = list_versions(ctx.db, symbol=symbol, timeframe=tf, bot=args.bot, limit=args.limit)
    return CommandResult({"versions": [v.as_json() for v in versions]}, _render_versions)


def _render_switch(data: Mapping[str, Any]) -> str:
    return f"version {data['version_id']} is active (previously {data['previous_active_id']})"


def _activate(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.registry.activation import activate

    result = activate(ctx, args.version_id, actor="cli", reason=args.reason)
    return CommandResult(result.as_json(), _render_switch)


def _rollback(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.registry.activation import rollback

    symbol, tf = normalise_symbol(args.symbol), parse_timeframe(args.timeframe).code
    result = rollback(ctx, symbol, tf, args.bot, actor="cli", reason=args.reason)
    return CommandResult(result.as_json(), _render_switch)
