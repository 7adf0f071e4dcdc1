"""`data import`, `data fetch`, `data bootstrap` and `data list`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from core.cli.output import CommandResult
from core.context import Context
from core.data.providers.registry import MARKET_PROVIDERS, fetch_provider_names
from core.requests import LabelOptions, parse
from core.services.actors import Actor


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    data = subparsers.add_parser("data", help="market data: import, fetch, list")
    sub = data.add_subparsers(dest="data_command", required=True)

    imp = sub.add_parser("import", parents=[common], help="load an OHLCV CSV into the bar store")
    imp.add_argument("path")
    imp.add_argument("--symbol", required=True)
    imp.add_argument("--timeframe", required=True)
    imp.set_defaults(handler=_import)

    fetch = sub.add_parser("fetch", parents=[common], help="fetch bars from a provider into the store")
    fetch.add_argument("--symbol", required=True)
    fetch.add_argument("--timeframe", required=True)
    fetch.add_argument("--lookback-days", type=float)
    fetch.add_argument("--provider", choices=fetch_provider_names(), help=MARKET_PROVIDERS.describe())
    fetch.add_argument("--bypass-cache", action="store_true", help="always ask the provider again")
    fetch.set_defaults(handler=_fetch)

    boot = sub.add_parser("bootstrap", parents=[common], help="load the bundled demo data (idempotent)")
    boot.set_defaults(handler=_bootstrap)

    lst = sub.add_parser("list", parents=[common], help="list stored series")
    lst.set_defaults(handler=_list)


def _render_series(data: Mapping[str, Any]) -> str:
    text = f"{data['symbol']} {data['timeframe']}: {data['rows']} bars, {data['first']} .. {data['last']}"
    if data.get("format_title"):
        text += f"\ndetected format: {data['format_title']}"
    if data.get("price_decimals") is not None:
        text += f"\nprice precision: {data['price_decimals']} decimals (tick {data['tick_size']:g})"
    if data.get("used_as_stored"):
        text += f"\n{data['message']}"
    if data.get("stale"):
        text += f"\nSTALE: {data.get('message', 'the provider could not be reached')}; showing stored bars"
    return text


def _import(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services import data

    outcome = data.import_csv(ctx, Actor.cli(), args.path, args.symbol, args.timeframe)
    return CommandResult(outcome.as_json(), _render_series, warnings=list(outcome.warnings))


def _fetch(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services import data

    parse(LabelOptions, lookback_days=args.lookback_days)  # the same rule as every --lookback-days
    outcome = data.fetch(
        ctx,
        Actor.cli(),
        args.symbol,
        args.timeframe,
        lookback_days=args.lookback_days,
        provider=args.provider,
        bypass_cache=args.bypass_cache,
    )
    warnings = [f"stale data: {outcome.message}"] if outcome.stale else []
    warnings += outcome.warnings
    return CommandResult(outcome.as_json(), _render_series, warnings=warnings)


def _bootstrap(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.services import data

    outcomes = data.bootstrap_demo(ctx, Actor.cli())
    return CommandResult(
        {"series": [o.as_json() for o in outcomes]},
        lambda d: "\n".join(_render_series(s) for s in d["series"]),
    )


def _list(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.data import store

    series = [s.as_json() for s in store.list_series(ctx.db)]
    return CommandResult(
        {"series": series}, lambda d: "\n".join(_render_series(s) for s in d["series"]) or "no stored series"
    )
