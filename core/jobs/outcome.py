"""How a job body says the job ended: a status from `END_STATUSES`, its result and a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobOutcome:
    status: str = "succeeded"
    result: dict[str, Any] = field(default_factory=dict)
    message: str | None = None  # stored as the job's error for every end but `succeeded`
