"""`label`: sample points of a series and label them; `label list|show|rescore|compare` for operators."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.cli.output import CommandResult
from core.context import Context
from core.errors import BadInput
from core.labeling.labelers import LABELERS
from core.labeling.schema import SAMPLINGS
from core.llm_providers import LLM_PROVIDERS
from core.requests import LabelingRequest, PageRequest, parse

if TYPE_CHECKING:
    from core.labeling.store import LabelSetView

# The engine (pandas, the labelers, the LLM client) is imported inside the handlers so that
# building the parser stays fast for every command.

ACTIONS = ("run", "list", "show", "rescore", "compare")


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "label",
        parents=[common],
        help="sample points of a series and label them (or: list | show ID | rescore [ID…] | compare ID…)",
    )
    p.add_argument("action", nargs="?", choices=ACTIONS, default="run", help="default: run a labeling")
    p.add_argument("ids", nargs="*", type=int, help="label set ids (show, rescore, compare)")
    p.add_argument("--symbol")
    p.add_argument("--timeframe")
    p.add_argument("--lookback-days", type=float, help="count back from the newest stored bar")
    p.add_argument("--samples", type=int, default=50)
    p.add_argument(
        "--labeler",
        choices=LABELERS.names(),
        help=f"default: llm when configured, else rules. {LABELERS.describe()}",
    )
    p.add_argument("--sampling", choices=SAMPLINGS, default="mixed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--llm-provider",
        choices=LLM_PROVIDERS.names(),
        help=f"this run's LLM (default LLM_PROVIDER). {LLM_PROVIDERS.describe()}",
    )
    p.add_argument(
        "--end", type=parse_end, help="label as of this time (ISO date or datetime): later bars stay unseen"
    )
    refresh = p.add_mutually_exclusive_group()
    refresh.add_argument("--refresh", action="store_true", help="fetch bars from the provider first")
    refresh.add_argument("--no-refresh", action="store_true", help="never fetch, even with a live provider")
    p.add_argument("--bypass-cache", action="store_true", help="ask the LLM again even for cached points")
    p.add_argument("--force", action="store_true", help="run even if the estimate exceeds today's budget")
    p.add_argument("--limit", type=int, default=20, help="labels shown by `show`, sets by `list`")
    p.set_defaults(handler=_dispatch)


def parse_end(value: str) -> datetime:
    """An ISO date or datetime; naive means UTC (CONTRACTS §1)."""
    from datetime import UTC

    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO date or datetime (e.g. 2026-10-01)"
        ) from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _dispatch(ctx: Context, args: argparse.Namespace) -> CommandResult:
    handlers = {"run": _run, "list": _list, "show": _show, "rescore": _rescore, "compare": _compare}
    parse(PageRequest, limit=args.limit)
    return handlers[args.action](ctx, args)


# --- label (run) ------------------------------------------------------------------------------
def _run(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.cli.runs import foreground_runner, job_result
    from core.data.providers import make_provider
    from core.services.actors import Actor
    from core.services.runs import start_labeling

    if not args.symbol or not args.timeframe:
        raise BadInput("label needs --symbol and --timeframe (e.g. --symbol GOOG --timeframe 1d)")
    if args.ids:
        raise BadInput("label ids are only taken by `label show|rescore|compare`")
    live = make_provider(ctx.settings.market_data_provider, ctx.settings).live
    request = parse(
        LabelingRequest,
        symbol=args.symbol,
        timeframe=args.timeframe,
        lookback_days=args.lookback_days,
        samples=args.samples,
        labeler=args.labeler,
        sampling=args.sampling,
        seed=args.seed,
        refresh=args.refresh or (live and not args.no_refresh),
        bypass_cache=args.bypass_cache,
        end=args.end,
        llm_provider=args.llm_provider,
    )
    _check_budget(ctx, request, args)
    runner = foreground_runner(ctx)
    try:
        job = start_labeling(runner, Actor.cli(), request)
    finally:
        runner.shutdown()
    data = job.result or {}
    warnings = [] if job.status == "budget_exhausted" or not data.get("message") else [data["message"]]
    return job_result(job, data, _render_run, warnings)


def _check_budget(ctx: Context, request: LabelingRequest, args: argparse.Namespace) -> None:
    """Before paid calls: print the estimate, refuse one over today's remaining budget unless --force."""
    from core.labeling.cost import Window, estimate_cost
    from core.labeling.labelers import resolve_labeler

    llm_ctx = ctx.for_llm_provider(request.llm_provider)
    if resolve_labeler(llm_ctx.settings, request.labeler) != "llm" or not llm_ctx.settings.llm_configured:
        return
    window = Window(request.symbol, request.timeframe, request.lookback_days, request.end)
    est = estimate_cost(llm_ctx, request.samples, "llm", window)
    if not args.json:
        print(
            f"estimate: up to {est['calls']} {est['provider']} calls to {est['model']}, "
            f"~{est['tokens_in']:,} tokens in / {est['tokens_out']:,} out, about ${est['usd']:.4f} "
            f"(cached points cost nothing); today's budget left ${est['budget_remaining_usd']:.4f}",
            file=sys.stderr,
        )
    if not est["within_budget"] and not args.force:
        raise BadInput(
            f"the estimated ${est['usd']:.4f} for {est['calls']} calls exceeds today's remaining LLM "
            f"budget of ${est['budget_remaining_usd']:.4f} (LLM_DAILY_BUDGET_USD="
            f"{est['budget_usd']}); label fewer --samples, raise the budget, or pass --force"
        )


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.0f}%"  # type: ignore[arg-type]


def _render_quality(q: Mapping[str, Any]) -> list[str]:
    if not q:
        return ["quality: nothing to score"]
    ret = q.get("mean_realised_return")
    lines = [
        f"quality: {q['directional_scored']} BUY/SELL scored, {q['pending']} pending; "
        f"target first {_pct(q['target_first_rate'])}, stop first {_pct(q['stop_first_rate'])}, "
        f"neither {_pct(q['neither_rate'])}; direction right {_pct(q['directional_hit_rate'])}, "
        f"mean return {'n/a' if ret is None else f'{ret * 100:+.2f}%'}",
        f"HOLD: {q['hold']['count']} scored, stayed in range {_pct(q['hold']['in_range_rate'])}",
    ]
    for b in q.get("calibration", []):
        if b["count"]:
            lines.append(
                f"  confidence {b['bucket']}: {b['count']:>4} labels, "
                f"target first {_pct(b['target_first_rate'])}, "
                f"direction right {_pct(b['directional_hit_rate'])}"
            )
    firewall, before = q.get("firewall") or {}, q.get("possibly_remembered")
    if firewall:
        lines.insert(
            0,
            f"knowledge cutoff {firewall['knowledge_cutoff']}: the quality below counts the "
            f"{firewall['post_cutoff_n']} labels after it",
        )
    if before:
        lines.append(
            f"possibly remembered (before the cutoff): n = {firewall.get('pre_cutoff_n')}, "
            f"{before['directional_scored']} BUY/SELL scored, "
            f"target first {_pct(before['target_first_rate'])}, "
            f"direction right {_pct(before['directional_hit_rate'])}"
        )
    return lines


def _render_run(d: Mapping[str, Any]) -> str:
    lines = [
        f"label set {d['label_set_id']} ({d['labeler']}) {d['symbol']} {d['timeframe']}: "
        f"{d['labeled']} labeled, {d['rejected']} rejected of {d['requested']} [{d['status']}]",
        f"API calls {d['api_calls']}, cache hits {d['cache_hits']}, cost ${d['cost_usd']:.4f}"
        f"{' (tokens estimated)' if d.get('tokens_estimated') else ''}, {d['wall_s']:.1f} s"
        + (f", {d['invalid_replies']} invalid replies" if d.get("invalid_replies") else ""),
    ]
    return "\n".join(lines + _render_quality(d.get("quality") or {}))


# --- operators' views -------------------------------------------------------------------------
def _set_json(ls: LabelSetView) -> dict[str, Any]:
    return {
        "label_set_id": ls.id,
        "symbol": ls.symbol,
        "timeframe": ls.timeframe,
        "labeler": ls.labeler,
        "provider": ls.provider,
        "model": ls.model,
        "prompt_version": ls.prompt_version,
        "sampling": ls.sampling,
        "seed": ls.seed,
        "status": ls.status,
        "message": ls.message,
        "requested": ls.requested,
        "labeled": ls.labeled,
        "rejected": ls.rejected,
        "api_calls": ls.api_calls,
        "cache_hits": ls.cache_hits,
        "cost_usd": round(ls.cost_usd, 6),
        "wall_s": ls.wall_s,
        "created_at": ls.created_at,
        "finished_at": ls.finished_at,
    }


def _list(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.labeling import store

    sets = [_set_json(s) for s in store.label_sets(ctx.db, args.symbol, args.timeframe, args.limit)]

    def render(d: Mapping[str, Any]) -> str:
        rows = [
            f"{s['label_set_id']:>5} {s['symbol']} {s['timeframe']} {s['labeler']:<9} {s['status']:<16} "
            f"{s['labeled']}/{s['requested']} labeled, ${s['cost_usd']:.4f}, {s['created_at']:%Y-%m-%d %H:%M}"
            for s in d["label_sets"]
        ]
        return "\n".join(rows) or "no label sets yet"

    return CommandResult({"label_sets": sets}, render)


def _one_id(args: argparse.Namespace) -> int:
    if len(args.ids) != 1:
        raise BadInput(f"label {args.action} takes exactly one label set id")
    return args.ids[0]


def _show(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.labeling import store

    set_id = _one_id(args)
    ls = store.label_set(ctx.db, set_id)
    data = {**_set_json(ls), "params": ls.params, "quality": ls.quality or {}}
    labels = store.read_labels(ctx.db, set_id, accepted_only=False).head(max(0, args.limit))
    data["labels"] = [
        {"ts": ts, **{k: (None if v != v else v) for k, v in row.items() if k != "id"}}  # NaN -> null
        for ts, row in labels.drop(columns=["id"]).to_dict("index").items()
    ]

    def render(d: Mapping[str, Any]) -> str:
        head = [
            f"label set {d['label_set_id']} ({d['labeler']}) {d['symbol']} {d['timeframe']} [{d['status']}]"
        ]
        rows = [
            f"  {lab['ts']:%Y-%m-%d %H:%M} {lab['status']:<8} {lab['recommendation'] or '-':<4} "
            f"conf {lab['confidence'] if lab['confidence'] is not None else '-'} "
            f"outcome {lab['outcome'] or '-'} {lab['reject_reason'] or ''}"
            for lab in d["labels"]
        ]
        return "\n".join(head + _render_quality(d["quality"]) + rows)

    return CommandResult(data, render)


def _rescore(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.labeling import quality

    if args.ids:
        results = {i: quality.score_label_set(ctx, i) for i in args.ids}
    else:
        results = quality.rescore_pending(ctx, args.symbol, args.timeframe)
    data = {"rescored": [{"label_set_id": i, "quality": q} for i, q in results.items()]}

    def render(d: Mapping[str, Any]) -> str:
        lines = [
            f"label set {r['label_set_id']}: {r['quality']['scored']} scored, "
            f"{r['quality']['pending']} pending"
            for r in d["rescored"]
        ]
        return "\n".join(lines) or "no label set has pending labels"

    return CommandResult(data, render)


def _compare(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.labeling import comparison

    if not args.ids:
        raise BadInput("label compare takes one label set id (against rules and hindsight) or several")
    if len(args.ids) == 1:
        return CommandResult(comparison.compare_with_offline(ctx, args.ids[0]))
    return CommandResult(comparison.compare_label_sets(ctx, args.ids))
