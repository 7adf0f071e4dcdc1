"""`model_training_records`: one row per bot per training run, successful or not."""

from __future__ import annotations

from typing import Any

from core.db.database import Database
from core.db.models import ModelTrainingRecord
from core.db.types import utcnow


def start_record(
    db: Database,
    *,
    job_id: int | None,
    symbol: str,
    timeframe: str,
    bot: str,
    training_type: str,
    label_set_id: int | None,
    config: dict[str, Any],
) -> int:
    with db.session() as session:
        row = ModelTrainingRecord(
            job_id=job_id,
            symbol=symbol,
            timeframe=timeframe,
            bot=bot,
            training_type=training_type,
            label_set_id=label_set_id,
            status="running",
            config=config,
        )
        session.add(row)
        session.flush()
        return row.id


def finish_record(
    db: Database,
    record_id: int,
    *,
    status: str,
    wall_s: float,
    version_id: int | None = None,
    samples_used: int = 0,
    error: str | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    with db.session() as session:
        row = session.get(ModelTrainingRecord, record_id)
        if row is None:
            return
        row.status = status
        row.wall_s = round(wall_s, 3)
        row.version_id = version_id
        row.samples_used = samples_used
        row.error = error[:4000] if error else None
        row.finished_at = utcnow()
        if config:
            row.config = {**(row.config or {}), **config}
