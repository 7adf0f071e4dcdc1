"""How long-running work reports back: progress, stage, spend, and whether to stop.

Training and labeling take a `Reporter` and never know who listens: the job runner records it in
the job row, a foreground command the same, a test or a notebook may pass `NULL_REPORTER`. This
module sits at the bottom of the import layers so every engine package may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.errors import JobCancelled


class Reporter(Protocol):
    def progress(self, fraction: float, stage: str) -> None:
        """Share done (0..1) of the whole run and what it is doing now."""
        ...

    def cancelled(self) -> bool:
        """True once someone asked the run to stop; checked between stages."""
        ...

    def spend(self, *, label_set_id: int | None, llm_calls: int, cost_usd: float) -> None:
        """The labels the run works on and what they cost so far."""
        ...


class NullReporter:
    """Reports nowhere and never cancels."""

    def progress(self, fraction: float, stage: str) -> None:
        return None

    def cancelled(self) -> bool:
        return False

    def spend(self, *, label_set_id: int | None, llm_calls: int, cost_usd: float) -> None:
        return None


NULL_REPORTER: Reporter = NullReporter()


@dataclass(frozen=True)
class Span:
    """A sub-range [lo, hi] of another reporter's progress bar (labeling first, then training)."""

    inner: Reporter
    lo: float
    hi: float

    def progress(self, fraction: float, stage: str) -> None:
        self.inner.progress(self.lo + (self.hi - self.lo) * min(max(fraction, 0.0), 1.0), stage)

    def cancelled(self) -> bool:
        return self.inner.cancelled()

    def spend(self, *, label_set_id: int | None, llm_calls: int, cost_usd: float) -> None:
        self.inner.spend(label_set_id=label_set_id, llm_calls=llm_calls, cost_usd=cost_usd)


@dataclass(frozen=True)
class Callbacks:
    """A reporter made of plain callbacks (either may be missing), for Python callers and tests."""

    on_progress: Callable[[float, str], None] | None = None
    should_cancel: Callable[[], bool] | None = None

    def progress(self, fraction: float, stage: str) -> None:
        if self.on_progress is not None:
            self.on_progress(fraction, stage)

    def cancelled(self) -> bool:
        return self.should_cancel is not None and bool(self.should_cancel())

    def spend(self, *, label_set_id: int | None, llm_calls: int, cost_usd: float) -> None:
        return None


def stop_if_cancelled(reporter: Reporter, message: str) -> None:
    """Raise `JobCancelled(message)` when the run was asked to stop."""
    if reporter.cancelled():
        raise JobCancelled(message)
