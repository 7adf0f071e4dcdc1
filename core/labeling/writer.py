"""Writing a run's results as they complete: labels, ledger rows, cache entries and counters together.

Each batch is one transaction, so a crash, a budget stop or a cancel keeps every batch already
written and the label set's counters always match its stored labels. Thread-safe: the LLM run
writes from worker threads while the event loop keeps the requests going.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import update

from core.db.database import Database
from core.db.models import LabelSet
from core.labeling import store
from core.labeling.llm import cache, ledger
from core.labeling.schema import LabelRecord


@dataclass
class Outcome:
    """One finished point (record), or a request that produced no label (record None, e.g. a 401)."""

    record: LabelRecord | None
    call: ledger.CallRow | None = None
    cache_entry: cache.CacheEntry | None = None
    tokens_estimated: bool = False


@dataclass
class Totals:
    labeled: int = 0
    rejected: int = 0
    api_calls: int = 0
    cache_hits: int = 0
    http_attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    tokens_estimated: bool = False
    failed_calls: int = 0  # requests that produced no reply (network, HTTP errors, refused keys)


@dataclass
class LabelWriter:
    db: Database
    label_set_id: int
    totals: Totals = field(default_factory=Totals)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def write(self, batch: Sequence[Outcome]) -> None:
        if not batch:
            return
        delta = Totals()
        calls = [o.call for o in batch if o.call is not None]
        for o in batch:
            if o.record is not None:
                if o.record.accepted:
                    delta.labeled += 1
                else:
                    delta.rejected += 1
            if o.tokens_estimated:
                delta.tokens_estimated = True
        for call in calls:
            if call.status == "error":
                delta.failed_calls += 1
            if call.status == "cached":
                delta.cache_hits += 1
            else:
                delta.api_calls += 1
                delta.http_attempts += call.attempts
            delta.tokens_in += call.tokens_in if call.status != "cached" else 0
            delta.tokens_out += call.tokens_out if call.status != "cached" else 0
            delta.cost_usd += call.cost_usd
        with self._lock:
            self._commit(batch, calls, delta)
            self._add(delta)  # only once the transaction has committed

    def _commit(self, batch: Sequence[Outcome], calls: list[ledger.CallRow], delta: Totals) -> None:
        with self.db.session() as session:
            ids = iter(ledger.record(session, calls))
            for o in batch:
                if o.call is not None:
                    call_id = next(ids)
                    if o.record is not None:
                        o.record.llm_call_id = call_id
            store.add_labels(session, self.label_set_id, [o.record for o in batch if o.record is not None])
            cache.store(session, [o.cache_entry for o in batch if o.cache_entry is not None])
            session.execute(
                update(LabelSet)
                .where(LabelSet.id == self.label_set_id)
                .values(
                    labeled=LabelSet.labeled + delta.labeled,
                    rejected=LabelSet.rejected + delta.rejected,
                    api_calls=LabelSet.api_calls + delta.api_calls,
                    cache_hits=LabelSet.cache_hits + delta.cache_hits,
                    tokens_in=LabelSet.tokens_in + delta.tokens_in,
                    tokens_out=LabelSet.tokens_out + delta.tokens_out,
                    cost_usd=LabelSet.cost_usd + delta.cost_usd,
                )
            )

    def _add(self, delta: Totals) -> None:
        t = self.totals
        t.labeled += delta.labeled
        t.rejected += delta.rejected
        t.api_calls += delta.api_calls
        t.cache_hits += delta.cache_hits
        t.http_attempts += delta.http_attempts
        t.tokens_in += delta.tokens_in
        t.tokens_out += delta.tokens_out
        t.cost_usd += delta.cost_usd
        t.failed_calls += delta.failed_calls
        t.tokens_estimated = t.tokens_estimated or delta.tokens_estimated
