"""Bringing bars in: CSV import and provider fetches (`core.data.service` behind a permission)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from core.context import Context
from core.data import service, uploads
from core.data.service import FetchOutcome
from core.services.actors import Actor, Permission, authorize
from core.timeframes import normalise_symbol, parse_timeframe


def import_csv(ctx: Context, actor: Actor, path: str | Path, symbol: str, timeframe: str) -> FetchOutcome:
    authorize(actor, Permission.IMPORT)
    return service.import_csv(ctx, path, symbol, timeframe)


def import_upload(
    ctx: Context, actor: Actor, stream: BinaryIO, name: str | None, symbol: str, timeframe: str
) -> FetchOutcome:
    """A CSV uploaded from the page, by the CLI's rules: all rows or none, `BadInput` naming the line."""
    authorize(actor, Permission.IMPORT)
    return uploads.import_upload(ctx, stream, name, symbol, timeframe)


def add_symbol(ctx: Context, actor: Actor, symbol: str, timeframe: str) -> FetchOutcome:
    """A symbol typed on the page: checked by the symbol rule first, then fetched from the provider."""
    authorize(actor, Permission.IMPORT)
    return service.fetch(ctx, normalise_symbol(symbol), parse_timeframe(timeframe).code)


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
) -> FetchOutcome:
    authorize(actor, Permission.IMPORT)
    return service.fetch(
        ctx,
        symbol,
        timeframe,
        lookback_days=lookback_days,
        provider=provider,
        bypass_cache=bypass_cache,
        now=now,
    )


def bootstrap_demo(ctx: Context, actor: Actor) -> list[FetchOutcome]:
    authorize(actor, Permission.IMPORT)
    return service.bootstrap_demo(ctx)
