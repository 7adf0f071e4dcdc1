"""When to retry an LLM request and how long to wait.

Hand-written rather than taken from a retry library: the loop must honour the server's
`Retry-After`, pause every worker after a 429 (not just the one that got it) and stop the whole
run on a 401/403; those rules are a few lines here and awkward hooks in a generic library,
which would also be a new dependency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses that say "try again later": rate limiting, request timeout and server-side failures.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
AUTH_STATUSES = frozenset({401, 403})


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds (fractions tolerated) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN guard


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's `Retry-After` wins but is capped.

    The cap keeps one misbehaving header (an hour, a date far ahead) from freezing a run; past it
    the request fails after its retries and the point is stored as rejected with the reason.
    """

    max_retries: int
    base_s: float = 0.5
    cap_s: float = 20.0
    retry_after_cap_s: float = 60.0

    def delay(self, retry: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to sleep before retry number `retry` (1-based)."""
        rng = rng or random
        if retry_after is not None:
            # At least what the server asked for; a little jitter so paused workers do not stampede.
            wait = min(retry_after, self.retry_after_cap_s)
            return wait + rng.uniform(0.0, min(0.25, 0.1 * wait + 0.02))
        exp = min(self.cap_s, self.base_s * (2 ** (retry - 1)))
        return rng.uniform(exp / 2, exp)  # "equal jitter": never less than half the backoff
