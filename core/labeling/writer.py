"""Writing a run's results as they happen: ledger rows per request, labels and cache entries in batches.

Every change to a label set's counters happens in the same transaction as the rows it counts:
a request's ledger row and the set's `api_calls` and `cost_usd` together (when it is reserved,
retried and settled), a batch of labels and the set's `labeled`/`rejected`/`cache_hits`
together. So whatever stops a run (a crash, a SIGKILL, a budget stop, a cancel), the set's calls
and cost equal the sum of its ledger rows and its counts match its stored labels.
Thread-safe: the LLM run writes from worker threads while the event loop keeps requests going.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.database import Database
from core.db.models import LabelSet
from core.labeling import store
from core.labeling.llm import cache, ledger
from core.labeling.schema import LabelRecord

T = TypeVar("T")


class _OverBudget(Exception):
    """Internal: the reservation did not fit today's budget."""


@dataclass
class Outcome:
    """One finished point (record), or a request that produced no label (record None, e.g. a 401)."""

    record: LabelRecord | None
    call: ledger.CallRow | None = None  # a cache hit's ledger row, written with the label
    call_id: int | None = None  # a request already on the ledger (`LabelWriter.open_call`)
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
    failed_calls: int = 0
    invalid_replies: int = 0
    tokens_estimated: bool = False


@dataclass
class LabelWriter:
    db: Database
    label_set_id: int
    totals: Totals = field(default_factory=Totals)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- the ledger, one transaction per event of a request -----------------------------------
    def open_call(
        self, row: ledger.CallRow, *, reserved_usd: float, limit_usd: float, expires_at: datetime
    ) -> int | None:
        """Reserve the request's expected cost and put it on the ledger; None when the budget is spent."""

        def reserve(session: Session) -> int:
            call_id = ledger.reserve(
                session, row, reserved_usd=reserved_usd, limit_usd=limit_usd, expires_at=expires_at
            )
            if call_id is None:
                raise _OverBudget
            return call_id

        try:
            return self._ledger_event(reserve)
        except _OverBudget:
            return None  # the transaction rolled back: nothing was written

    def open_calls(
        self,
        rows: Sequence[ledger.CallRow],
        reserved: Sequence[float],
        *,
        limit_usd: float,
        expires_at: datetime,
    ) -> list[int]:
        """Reserve a batch's requests, in order, as far as today's budget allows; their ids."""
        return self._ledger_event(
            lambda session: ledger.reserve_many(
                session, rows, reserved, limit_usd=limit_usd, expires_at=expires_at
            )
        )

    def close_calls(self, results: Sequence[tuple[int, ledger.CallResult]]) -> None:
        """Settle many requests (a batch's results) in one transaction."""

        def settle_all(session: Session) -> None:
            for call_id, result in results:
                ledger.settle(session, call_id, result)

        if results:
            self._ledger_event(settle_all)

    def recount(self) -> None:
        """Recount the set from its ledger rows (after rows were moved to it)."""
        self._ledger_event(lambda session: None)

    def mark_attempt(self, call_id: int, attempt: int, expires_at: datetime) -> None:
        self._ledger_event(lambda session: ledger.mark_attempt(session, call_id, attempt, expires_at))

    def close_call(self, call_id: int, result: ledger.CallResult) -> None:
        """Settle the request: its real cost replaces the reservation, on the row and the set alike."""
        self._ledger_event(lambda session: ledger.settle(session, call_id, result))

    def _ledger_event(self, change: Callable[[Session], T]) -> T:
        """Apply `change` to the ledger and recount the set from its rows, in one transaction.

        The set's row is locked first, so concurrent events of one set (threads, or processes on
        PostgreSQL) recount in turn and the stored counters always equal the sum of the rows.
        """
        with self._lock:
            with self.db.session() as session:
                result = change(session)
                session.execute(select(LabelSet.id).where(LabelSet.id == self.label_set_id).with_for_update())
                sums = ledger.ledger_totals(session, label_set_id=self.label_set_id)
                session.execute(
                    update(LabelSet)
                    .where(LabelSet.id == self.label_set_id)
                    .values(
                        api_calls=sums.calls,
                        cost_usd=sums.cost_usd,
                        tokens_in=sums.tokens_in,
                        tokens_out=sums.tokens_out,
                        invalid_replies=sums.invalid,
                    )
                )
            t = self.totals  # only once the transaction has committed
            t.api_calls, t.http_attempts, t.cost_usd = sums.calls, sums.attempts, sums.cost_usd
            t.tokens_in, t.tokens_out, t.failed_calls = sums.tokens_in, sums.tokens_out, sums.failed
            t.invalid_replies = sums.invalid
            return result

    def _count(self, session: Session, **deltas: int) -> None:
        """Add to the set's label counters inside the caller's transaction."""
        columns = {name: getattr(LabelSet, name) + value for name, value in deltas.items() if value}
        if columns:
            session.execute(update(LabelSet).where(LabelSet.id == self.label_set_id).values(**columns))

    # --- labels, cache hits and cache entries, in batches -------------------------------------
    def write(self, batch: Sequence[Outcome]) -> None:
        if not batch:
            return
        delta = Totals()
        for o in batch:
            if o.record is not None:
                if o.record.accepted:
                    delta.labeled += 1
                else:
                    delta.rejected += 1
            delta.tokens_estimated = delta.tokens_estimated or o.tokens_estimated
            delta.cache_hits += o.call is not None and o.call.status == "cached"
        with self._lock:
            self._commit(batch, delta)
            self.totals.labeled += delta.labeled
            self.totals.rejected += delta.rejected
            self.totals.cache_hits += delta.cache_hits
            self.totals.tokens_estimated = self.totals.tokens_estimated or delta.tokens_estimated

    def _commit(self, batch: Sequence[Outcome], delta: Totals) -> None:
        with self.db.session() as session:
            hits = [(o, o.call) for o in batch if o.call is not None]
            ids = ledger.record(session, [call for _, call in hits])
            for (o, _), call_id in zip(hits, ids, strict=True):
                o.call_id = call_id
            for o in batch:
                if o.record is not None and o.call_id is not None:
                    o.record.llm_call_id = o.call_id
            store.add_labels(session, self.label_set_id, [o.record for o in batch if o.record is not None])
            cache.store(session, [o.cache_entry for o in batch if o.cache_entry is not None])
            self._count(session, labeled=delta.labeled, rejected=delta.rejected, cache_hits=delta.cache_hits)
