"""The daily budget as seen by one run: today's spend plus what this run has spent and reserved.

A request may start only if its expected cost still fits, so concurrent workers cannot overshoot
the budget by a whole wave of requests: each reserves its expected cost before sending and
settles the real cost when the reply arrives.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Budget:
    limit_usd: float
    spent_before_usd: float  # today's spend in the ledger when the run started
    spent_run_usd: float = 0.0
    reserved_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.limit_usd - self.spent_before_usd - self.spent_run_usd - self.reserved_usd)

    def try_reserve(self, expected_usd: float) -> bool:
        with self._lock:
            committed = self.spent_before_usd + self.spent_run_usd + self.reserved_usd
            if committed + expected_usd > self.limit_usd:
                return False
            self.reserved_usd += expected_usd
            return True

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        with self._lock:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved_usd)
            self.spent_run_usd += actual_usd
