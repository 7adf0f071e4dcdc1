"""Rows of `experiments` and `experiment_results`: an experiment is stored so it can be reopened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db.database import Database
from core.db.models import Experiment, ExperimentResult
from core.db.types import utcnow
from core.errors import NotFound


@dataclass(frozen=True)
class ExperimentRecord:
    """A detached snapshot of an experiment with its rows."""

    experiment_id: int
    symbol: str
    timeframe: str
    status: str
    labelers: list[str]
    bots: list[str]
    label_sets: dict[str, int]
    params: dict[str, Any]
    comparisons: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    error: str | None
    wall_s: float | None
    created_at: datetime
    finished_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "status": self.status,
            "labelers": self.labelers,
            "bots": self.bots,
            "label_sets": self.label_sets,
            "params": self.params,
            "rows": self.rows,
            "comparisons": self.comparisons,
            "error": self.error,
            "wall_s": self.wall_s,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def create(
    db: Database,
    *,
    symbol: str,
    timeframe: str,
    labelers: list[str],
    bots: list[str],
    params: dict[str, Any],
    requested_by: str,
) -> int:
    with db.session() as session:
        row = Experiment(
            symbol=symbol,
            timeframe=timeframe,
            status="running",
            labelers=list(labelers),
            bots=list(bots),
            label_sets={},
            params=params,
            comparisons=[],
            requested_by=requested_by[:64],
        )
        session.add(row)
        session.flush()
        return row.id


def finish(
    db: Database,
    experiment_id: int,
    *,
    status: str,
    wall_s: float,
    rows: list[dict[str, Any]] | None = None,
    comparisons: list[dict[str, Any]] | None = None,
    label_sets: dict[str, int] | None = None,
    params: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """End an experiment: its result rows and comparisons in the same transaction as its status."""
    with db.session() as session:
        exp = session.get(Experiment, experiment_id)
        if exp is None:
            raise NotFound(f"experiment {experiment_id} does not exist")
        exp.status, exp.wall_s, exp.finished_at = status, round(wall_s, 3), utcnow()
        exp.error = error[:4000] if error else None
        if label_sets is not None:
            exp.label_sets = dict(label_sets)
        if params:
            exp.params = {**(exp.params or {}), **params}
        if comparisons is not None:
            exp.comparisons = comparisons
        for row in rows or []:
            session.add(
                ExperimentResult(
                    experiment_id=experiment_id,
                    labeler=row["labeler"],
                    bot=row["bot"],
                    label_set_id=row.get("label_set_id"),
                    metrics=row["metrics"],
                )
            )


def load(db: Database, experiment_id: int) -> ExperimentRecord:
    with db.read() as session:
        exp = session.get(Experiment, experiment_id)
        if exp is None:
            raise NotFound(
                f"experiment {experiment_id} does not exist; `python -m core experiments` lists them"
            )
        results = session.scalars(
            select(ExperimentResult)
            .where(ExperimentResult.experiment_id == experiment_id)
            .order_by(ExperimentResult.id)
        ).all()
        rows = [
            {"labeler": r.labeler, "bot": r.bot, "label_set_id": r.label_set_id, "metrics": dict(r.metrics)}
            for r in results
        ]
        return ExperimentRecord(
            exp.id,
            exp.symbol,
            exp.timeframe,
            exp.status,
            list(exp.labelers or []),
            list(exp.bots or []),
            dict(exp.label_sets or {}),
            dict(exp.params or {}),
            list(exp.comparisons or []),
            rows,
            exp.error,
            exp.wall_s,
            exp.created_at,
            exp.finished_at,
        )


def list_experiments(
    db: Database, *, symbol: str | None = None, timeframe: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first, without their rows."""
    query = select(Experiment).order_by(Experiment.id.desc()).limit(max(limit, 0))
    if symbol:
        query = query.where(Experiment.symbol == symbol)
    if timeframe:
        query = query.where(Experiment.timeframe == timeframe)
    with db.read() as session:
        return [
            {
                "experiment_id": e.id,
                "symbol": e.symbol,
                "timeframe": e.timeframe,
                "status": e.status,
                "labelers": list(e.labelers or []),
                "bots": list(e.bots or []),
                "created_at": e.created_at.isoformat(),
                "wall_s": e.wall_s,
                "error": e.error,
            }
            for e in session.scalars(query)
        ]
