"""The recall probe: does the configured model remember this series' closes?

For a few dozen stored bars before the model's knowledge cutoff and as many after it, the model
is asked, with the analyst's prompt discipline (instructions in a stable system message, the
question as one JSON object, a schema-constrained reply), for the close of the named symbol on
that date. Its error is set beside a naive guess that needs no memory: the previous stored close.
A model that beats the naive guess before its cutoff and not after it is recalling, not
reasoning: its labels of pre-cutoff points may be memory (the firewall's premise, measured).

Every request goes through the ledger and the daily budget like a labeling request; the result
is stored (`llm_probes`) for the LLM analyst panel of the Labels page.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.db.models import LLMProbe
from core.errors import BadInput
from core.labeling.llm import ledger
from core.labeling.llm.client import LLMClient
from core.labeling.llm.retry import RetryPolicy
from core.labeling.llm.runner import uses_schema
from core.labeling.llm_labeler import run_sync
from core.labeling.schema import parse_object
from core.llm_providers import make_wire, not_configured
from core.llm_providers.wire import LLMCallFailed, Message

PROBE_VERSION = "recall-v1"
DEFAULT_POINTS = 24  # per side of the cutoff
EXACT = 0.005  # an answer within 0.5 % of the stored close counts as recalled

PROBE_SYSTEM = """\
You are a financial data assistant. The user message is one JSON object naming a listed security
(symbol), a bar timeframe and a date. Reply with exactly one JSON object {"close": number}: the
closing price of that security for the bar of that date, in the currency it traded in, as best you
know it. If you do not know it, give your best estimate. No prose, no code fences.
"""

PROBE_SCHEMA: dict[str, Any] = {
    "name": "recalled_close",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"close": {"type": "number"}},
        "required": ["close"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class ProbePoint:
    when: date
    close: float
    previous: float  # the naive guess: the stored close of the bar before
    after_cutoff: bool


def choose_points(bars: pd.DataFrame, cutoff: date, per_side: int) -> list[ProbePoint]:
    """Up to `per_side` bars evenly spread on each side of the cutoff (each with a bar before it)."""
    closes = bars["close"].to_numpy(dtype="float64")
    days = [ts.date() for ts in bars.index]
    chosen = []
    for after in (False, True):
        side = [i for i in range(1, len(days)) if (days[i] > cutoff) == after]
        if side:
            picks = np.unique(np.linspace(0, len(side) - 1, min(per_side, len(side))).round().astype(int))
            chosen += [ProbePoint(days[side[k]], closes[side[k]], closes[side[k] - 1], after) for k in picks]
    return chosen


def _messages(symbol: str, timeframe: str, when: date) -> list[Message]:
    question = {"task": "recall_close", "symbol": symbol, "timeframe": timeframe, "date": when.isoformat()}
    return [
        {"role": "system", "content": PROBE_SYSTEM},
        {"role": "user", "content": json.dumps(question, separators=(",", ":"))},
    ]


def _answer(text: str) -> float | None:
    try:
        value = parse_object(text).get("close")
    except ValueError:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        return None
    return float(value)


def _side(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in rows if r["answer"] is not None]
    n = len(answered)

    def mean(key: str) -> float | None:
        return None if not n else round(float(np.mean([r[key] for r in answered])), 6)

    model, naive = mean("error"), mean("naive_error")
    return {
        "asked": len(rows),
        "n": n,
        "mean_abs_error": model,
        "naive_mean_abs_error": naive,
        "median_abs_error": None if not n else round(float(np.median([r["error"] for r in answered])), 6),
        "recalled_share": None if not n else round(sum(r["error"] <= EXACT for r in answered) / n, 4),
        "beats_naive": None if model is None or naive is None else model < naive,
    }


async def _ask(ctx: Context, points: list[ProbePoint], symbol: str, timeframe: str) -> list[dict[str, Any]]:
    settings = ctx.settings
    options = settings.llm_options
    client = LLMClient(
        make_wire(settings),
        model=options.model,
        temperature=0.0,
        timeout=options.timeout_s,
        concurrency=options.concurrency,
        policy=RetryPolicy(max_retries=options.max_retries),
        max_reply_bytes=options.max_reply_bytes,
        secrets=settings.secret_values(),
        json_schema=PROBE_SCHEMA if uses_schema(options) else None,
    )

    async def one(point: ProbePoint) -> dict[str, Any]:
        messages = _messages(symbol, timeframe, point.when)
        row = ledger.CallRow(None, options.provider, options.model, PROBE_VERSION, "sent")
        expires = datetime.now(UTC) + timedelta(seconds=client.attempt_horizon_s + 30)

        def reserve() -> int | None:
            with ctx.db.session() as session:
                usd = ledger.reservation_usd(settings, options.model, messages)
                return ledger.reserve(
                    session,
                    row,
                    reserved_usd=usd,
                    limit_usd=settings.llm_daily_budget_usd,
                    expires_at=expires,
                )

        call_id = await asyncio.to_thread(reserve)
        if call_id is None:
            raise BadInput(
                f"daily LLM budget of ${settings.llm_daily_budget_usd:.2f} reached (LLM_DAILY_BUDGET_USD)"
            )
        answer = None
        try:
            completion = await client.complete(messages)
        except LLMCallFailed as exc:
            result = ledger.CallResult(
                "error", exc.attempts, exc.latency_ms, 0.0, exc.http_status, error=str(exc)
            )
        else:
            usage = completion.usage
            cost = ledger.cost_usd(settings, options.model, usage.tokens_in, usage.tokens_out)
            answer = _answer(completion.text)
            result = ledger.CallResult(
                "ok",
                completion.attempts,
                completion.latency_ms,
                cost,
                completion.http_status,
                usage.tokens_in,
                usage.tokens_out,
                reply_valid=answer is not None,
            )

        def settle() -> None:
            with ctx.db.session() as session:
                ledger.settle(session, call_id, result)

        await asyncio.to_thread(settle)
        return {
            "date": point.when.isoformat(),
            "after_cutoff": point.after_cutoff,
            "close": point.close,
            "answer": answer,
            "error": None if answer is None else abs(answer / point.close - 1.0),
            "naive_error": abs(point.previous / point.close - 1.0),
        }

    async with client:
        return list(await asyncio.gather(*(one(p) for p in points)))


def run_probe(ctx: Context, symbol: str, timeframe: str, *, points: int = DEFAULT_POINTS) -> dict[str, Any]:
    """Ask, score and store the probe; its JSON (`before_cutoff` and `after_cutoff` side by side)."""
    settings = ctx.settings
    if not settings.llm_configured:
        raise BadInput(not_configured())
    if not 1 <= points <= 200:
        raise BadInput("--points must be between 1 and 200 (per side of the cutoff)")
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, symbol, timeframe)
    if len(bars) < 2:
        raise BadInput(f"no stored bars of {symbol} {timeframe}; import or fetch them first")
    cutoff = settings.knowledge_cutoff
    chosen = choose_points(bars, cutoff, points)
    rows = run_sync(_ask(ctx, chosen, symbol, timeframe))
    before = _side([r for r in rows if not r["after_cutoff"]])
    after = _side([r for r in rows if r["after_cutoff"]])
    result = {
        "symbol": symbol,
        "timeframe": timeframe,
        "provider": settings.llm_provider,
        "model": settings.llm_model,
        "knowledge_cutoff": cutoff.isoformat(),
        "before_cutoff": before,
        "after_cutoff": after,
        "remembers": bool(before["beats_naive"]) and not after["beats_naive"],
        "points": rows,
    }
    with ctx.db.session() as session:
        probe = LLMProbe(
            provider=settings.llm_provider,
            model=settings.llm_model,
            symbol=symbol,
            timeframe=timeframe,
            knowledge_cutoff=cutoff,
            result=result,
        )
        session.add(probe)
        session.flush()
        result["probe_id"] = probe.id
    return result


def last_probe(ctx: Context, model: str | None = None) -> dict[str, Any] | None:
    """The newest stored probe (of `model` when given), with when it ran."""
    from sqlalchemy import select

    with ctx.db.read() as session:
        query = select(LLMProbe).order_by(LLMProbe.id.desc()).limit(1)
        if model:
            query = query.where(LLMProbe.model == model)
        probe = session.scalars(query).first()
        if probe is None:
            return None
        return {**probe.result, "probe_id": probe.id, "created_at": probe.created_at.isoformat()}
