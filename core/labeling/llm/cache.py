"""The persistent LLM response cache (`llm_response_cache`): identical requests cost nothing twice.

Key: SHA-256 of the canonical JSON of (provider, model, every prompt message, the sampling
parameters, the prompt version). Any change to the prompt text, the point's context, the model
or the temperature is a different key, so a cached reply is only ever reused for the very same
question.

Reuse rule (`max_age_for`):
- stored / historical data: a cached reply is reused whatever its age. The context is built from
  bars that do not change, so the question, and therefore the answer, is the same.
- a live, fresh-data run (the run refreshed bars from a live provider): a reply is reused only
  while younger than `LLM_CACHE_TTL` seconds (Freddy: `FREDDY_CACHE_TTL` unless `LLM_CACHE_TTL` is
  set), because the newest points and the news move.
Only accepted replies are stored, so a re-run asks again (and pays) only for points whose
earlier reply was rejected or failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import LLMResponseCache
from core.llm_providers.wire import Message
from core.settings import Settings

_IN_CHUNK = 500


def cache_key(
    provider: str, model: str, messages: Sequence[Message], params: dict[str, Any], prompt_version: str
) -> str:
    canonical = json.dumps(
        {
            "provider": provider,
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "params": params,
            "prompt_version": prompt_version,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def max_age_for(settings: Settings, live_run: bool) -> float | None:
    """Seconds a cached reply stays usable for this run; None means any age (see module docstring)."""
    return float(settings.llm_options.cache_ttl_s) if live_run else None


@dataclass(frozen=True)
class CachedReply:
    text: str
    tokens_in: int
    tokens_out: int
    created_at: datetime


def lookup(
    session: Session, keys: Iterable[str], *, max_age_s: float | None, now: datetime | None = None
) -> dict[str, CachedReply]:
    keys = list(dict.fromkeys(keys))
    cutoff = None
    if max_age_s is not None:
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=max_age_s)
    found: dict[str, CachedReply] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        query = select(LLMResponseCache).where(
            LLMResponseCache.cache_key.in_(keys[start : start + _IN_CHUNK])
        )
        if cutoff is not None:
            query = query.where(LLMResponseCache.created_at >= cutoff)
        for row in session.scalars(query):
            found[row.cache_key] = CachedReply(
                row.response_text, row.tokens_in, row.tokens_out, row.created_at
            )
    return found


@dataclass(frozen=True)
class CacheEntry:
    key: str
    provider: str
    model: str
    text: str
    tokens_in: int
    tokens_out: int


def store(session: Session, entries: Iterable[CacheEntry], now: datetime | None = None) -> int:
    """Insert or refresh entries (a refreshed entry restarts its TTL)."""
    stamp = now or datetime.now(UTC)
    count = 0
    for entry in entries:
        session.merge(
            LLMResponseCache(
                cache_key=entry.key,
                provider=entry.provider,
                model=entry.model,
                response_text=entry.text,
                tokens_in=entry.tokens_in,
                tokens_out=entry.tokens_out,
                created_at=stamp,
            )
        )
        count += 1
    return count
