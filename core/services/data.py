"""Bringing bars in: CSV import and provider fetches (`core.data.supply` behind a permission)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from core.context import Context
from core.data import supply, uploads
from core.data.supply import SeriesUpdate
from core.services.actors import Actor, Permission, authorize
from core.services.audited import Arguments, audited
from core.timeframes import normalise_symbol, parse_timeframe


def _pair(arguments: Arguments) -> str:
    return f"{arguments['symbol']} {arguments['timeframe']}"


def _stored(update: SeriesUpdate) -> dict[str, Any]:
    return {"rows": update.summary.rows, "written": update.written, "source": update.source}


@audited("import", target=_pair, detail=_stored)
def import_csv(ctx: Context, actor: Actor, path: str | Path, symbol: str, timeframe: str) -> SeriesUpdate:
    authorize(actor, Permission.IMPORT)
    return supply.import_csv(ctx, path, symbol, timeframe)


@audited("import", target=_pair, detail=_stored)
def import_upload(
    ctx: Context, actor: Actor, stream: BinaryIO, name: str | None, symbol: str, timeframe: str
) -> SeriesUpdate:
    """A CSV uploaded from the page, by the CLI's rules: all rows or none, `BadInput` naming the line."""
    authorize(actor, Permission.IMPORT)
    return uploads.import_upload(ctx, stream, name, symbol, timeframe)


@audited("fetch", target=_pair, detail=_stored)
def add_symbol(ctx: Context, actor: Actor, symbol: str, timeframe: str) -> SeriesUpdate:
    """A symbol typed on the page: checked by the symbol rule first, then fetched from the provider."""
    authorize(actor, Permission.IMPORT)
    return supply.refresh_series(ctx, normalise_symbol(symbol), parse_timeframe(timeframe).code)


@audited("fetch", target=_pair, detail=_stored)
def fetch(
    ctx: Context,
    actor: Actor,
    symbol: str,
    timeframe: str,
    *,
    lookback_days: float | None = None,
    provider: str | None = None,
    bypass_cache: bool = False,
    now: datetime | None = None,
) -> SeriesUpdate:
    authorize(actor, Permission.IMPORT)
    return supply.refresh_series(
        ctx,
        symbol,
        timeframe,
        lookback_days=lookback_days,
        provider=provider,
        bypass_cache=bypass_cache,
        now=now,
    )


@audited("import", target=lambda _: "bundled demo data", detail=lambda updates: {"series": len(updates)})
def bootstrap_demo(ctx: Context, actor: Actor) -> list[SeriesUpdate]:
    authorize(actor, Permission.IMPORT)
    return supply.seed_demo_series(ctx)
