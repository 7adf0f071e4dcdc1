"""What a labeling run reports: the CONTRACTS `label` keys plus status, message and cost detail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.db.models import LabelSet
from core.errors import JobCancelled, LLMAuthError
from core.labeling.writer import Totals

# End states of a label set. Only `succeeded` means every sampled point was attempted.
STATUSES = ("running", "succeeded", "budget_exhausted", "cancelled", "auth_failed", "failed", "interrupted")


@dataclass
class LabelingResult:
    label_set_id: int
    symbol: str
    timeframe: str
    labeler: str
    requested: int
    labeled: int
    rejected: int
    status: str
    message: str | None = None
    not_attempted: int = 0
    api_calls: int = 0
    http_attempts: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    wall_s: float = 0.0
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    sampling: str = "mixed"
    seed: int = 0
    data_start: datetime | None = None
    data_end: datetime | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    invalid_replies: int = 0
    knowledge_cutoff: date | None = None

    @classmethod
    def of(
        cls, row: LabelSet, t: Totals, *, not_attempted: int, wall_s: float, quality: dict[str, Any]
    ) -> LabelingResult:
        """The summary of a finished label set row and the run's counters."""
        return cls(
            label_set_id=row.id,
            symbol=row.symbol,
            timeframe=row.timeframe,
            labeler=row.labeler,
            requested=row.requested,
            labeled=t.labeled,
            rejected=t.rejected,
            not_attempted=not_attempted,
            status=row.status,
            message=row.message,
            api_calls=t.api_calls,
            http_attempts=t.http_attempts,
            cache_hits=t.cache_hits,
            tokens_in=t.tokens_in,
            tokens_out=t.tokens_out,
            tokens_estimated=t.tokens_estimated,
            cost_usd=t.cost_usd,
            wall_s=wall_s,
            provider=row.provider,
            model=row.model,
            prompt_version=row.prompt_version,
            sampling=row.sampling,
            seed=row.seed,
            data_start=row.data_start,
            data_end=row.data_end,
            quality=quality,
            invalid_replies=t.invalid_replies,
            knowledge_cutoff=row.knowledge_cutoff,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "label_set_id": self.label_set_id,
            "labeler": self.labeler,
            "requested": self.requested,
            "labeled": self.labeled,
            "rejected": self.rejected,
            "api_calls": self.api_calls,
            "cache_hits": self.cache_hits,
            "cost_usd": round(self.cost_usd, 6),
            "wall_s": round(self.wall_s, 3),
            "quality": self.quality,
            "status": self.status,
            "message": self.message,
            "not_attempted": self.not_attempted,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "sampling": self.sampling,
            "seed": self.seed,
            "http_attempts": self.http_attempts,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_estimated": self.tokens_estimated,
            "data_start": self.data_start.isoformat() if self.data_start else None,
            "data_end": self.data_end.isoformat() if self.data_end else None,
            "invalid_replies": self.invalid_replies,
            "knowledge_cutoff": self.knowledge_cutoff.isoformat() if self.knowledge_cutoff else None,
        }


class LabelingAuthFailed(LLMAuthError):
    """The LLM refused the key mid-run; `result` is the stored label set's summary."""

    def __init__(self, message: str, result: LabelingResult) -> None:
        super().__init__(message)
        self.result = result


class LabelingCancelled(JobCancelled):
    """The run was cancelled; `result` is the stored label set's summary."""

    def __init__(self, message: str, result: LabelingResult) -> None:
        super().__init__(message)
        self.result = result
