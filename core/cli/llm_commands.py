"""`llm probe`: does the configured model remember a stored series' closes before its cutoff?"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from core.cli.output import CommandResult
from core.context import Context
from core.timeframes import normalise_symbol, parse_timeframe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    llm = subparsers.add_parser("llm", help="the LLM analyst: probe what the configured model remembers")
    actions = llm.add_subparsers(dest="llm_action", required=True)
    probe = actions.add_parser(
        "probe",
        parents=[common],
        help="ask the model for stored closes before and after its knowledge cutoff, beside a naive guess",
    )
    probe.add_argument("--symbol", required=True)
    probe.add_argument("--timeframe", required=True)
    probe.add_argument("--points", type=int, default=24, help="dates asked on each side of the cutoff")
    probe.set_defaults(handler=_probe)


def _pct(value: object) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.2f}%"


def render_probe(data: Mapping[str, Any]) -> str:
    lines = [
        f"recall probe {data.get('probe_id')}: {data['model']} ({data['provider']}) on {data['symbol']} "
        f"{data['timeframe']}, knowledge cutoff {data['knowledge_cutoff']}",
        f"{'':<14} {'n':>4} {'model error':>12} {'naive error':>12} {'recalled':>9}  beats naive",
    ]
    for side in ("before_cutoff", "after_cutoff"):
        s = data[side]
        lines.append(
            f"{side.replace('_', ' '):<14} {s['n']:>4} {_pct(s['mean_abs_error']):>12} "
            f"{_pct(s['naive_mean_abs_error']):>12} {_pct(s['recalled_share']):>9}  {s['beats_naive']}"
        )
    lines.append(
        "the model recalls this series before its cutoff: its labels there are possibly remembered"
        if data["remembers"]
        else "no sign of recall beyond the naive guess"
    )
    return "\n".join(lines)


def _probe(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.labeling.probe import run_probe

    symbol, tf = normalise_symbol(args.symbol), parse_timeframe(args.timeframe).code
    return CommandResult(run_probe(ctx, symbol, tf, points=args.points), render_probe)
