"""Rows of `ai_model_versions`: registering a finished artifact, reading versions, marking them broken."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.artifacts.base import ArtifactInfo
from core.db.database import Database
from core.db.models import AIModelVersion
from core.errors import NotFound

STATUSES = ("ready", "broken", "pruned")


def slot_for(symbol: str, timeframe: str, bot: str) -> str:
    """The value of `active_slot` on the one active row of a (symbol, timeframe, bot)."""
    return f"{symbol}|{timeframe}|{bot}"


@dataclass(frozen=True)
class VersionView:
    """A detached snapshot of a version row."""

    version_id: int
    bot: str
    symbol: str
    timeframe: str
    status: str
    is_active: bool
    training_type: str
    created_at: datetime
    activated_at: datetime | None
    metrics: dict[str, Any]
    params: dict[str, Any]
    lineage: dict[str, Any]
    label_set_id: int | None
    artifact_path: str | None
    artifact_sha256: str | None
    artifact_bytes: int | None
    broken_reason: str | None
    training_record_id: int | None
    bot_version: int | None = None  # the bot's own number within its (symbol, timeframe)
    gate_verdict: str | None = None  # the promotion gate's verdict (core.registry.gate.VERDICTS)
    gate_reason: str | None = None

    @classmethod
    def of(cls, row: AIModelVersion) -> VersionView:
        return cls(
            row.id,
            row.bot,
            row.symbol,
            row.timeframe,
            row.status,
            row.active_slot is not None,
            row.training_type,
            row.created_at,
            row.activated_at,
            dict(row.metrics or {}),
            dict(row.params or {}),
            dict(row.lineage or {}),
            row.label_set_id,
            row.artifact_path,
            row.artifact_sha256,
            row.artifact_bytes,
            row.broken_reason,
            row.training_record_id,
            row.bot_version,
            row.gate_verdict,
            row.gate_reason,
        )

    @property
    def label(self) -> str:
        """How people name a version: the bot's own number first, the global id after it."""
        number = f"v{self.bot_version}" if self.bot_version is not None else f"#{self.version_id}"
        return f"{self.bot} {number}"

    @property
    def slot(self) -> str:
        return slot_for(self.symbol, self.timeframe, self.bot)

    def as_json(self, *, detail: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version_id": self.version_id,
            "bot": self.bot,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "created_at": self.created_at.isoformat(),
            "is_active": self.is_active,
            "status": self.status,
            "training_type": self.training_type,
            "label_set_id": self.label_set_id,
            "activated_at": self.activated_at.isoformat() if self.activated_at else None,
            "broken_reason": self.broken_reason,
            "bot_version": self.bot_version,
            "gate_verdict": self.gate_verdict,
            "gate_reason": self.gate_reason,
            "metrics": self.metrics,
        }
        if detail:
            out.update(params=self.params, lineage=self.lineage, artifact_sha256=self.artifact_sha256)
        return out


def register_version(
    db: Database,
    *,
    symbol: str,
    timeframe: str,
    bot: str,
    artifact: ArtifactInfo,
    metrics: dict[str, Any],
    params: dict[str, Any],
    lineage: dict[str, Any],
    label_set_id: int | None,
    training_type: str,
    training_record_id: int | None = None,
    gate_verdict: str | None = None,
    gate_reason: str | None = None,
) -> VersionView:
    """Insert a `ready` version for a complete, verified artifact (never active on insert).

    Its per-bot number is the slot's highest plus one, taken under the slot's row locks (and a
    unique constraint), so concurrent registrations of one bot never share a number.
    """
    with db.session() as session:
        numbers = [r.bot_version or 0 for r in lock_bot_versions(session, symbol, timeframe, bot)]
        row = AIModelVersion(
            bot=bot,
            symbol=symbol,
            timeframe=timeframe,
            status="ready",
            is_active=False,
            training_type=training_type,
            artifact_path=artifact.key,
            artifact_sha256=artifact.sha256,
            artifact_bytes=artifact.size,
            metrics=metrics,
            params=params,
            lineage=lineage,
            label_set_id=label_set_id,
            training_record_id=training_record_id,
            bot_version=max(numbers, default=0) + 1,
            gate_verdict=gate_verdict,
            gate_reason=gate_reason,
        )
        session.add(row)
        session.flush()
        return VersionView.of(row)


def lock_bot_versions(session: Session, symbol: str, timeframe: str, bot: str) -> list[AIModelVersion]:
    """Every version of one bot, row-locked in id order and freshly read.

    On PostgreSQL this serialises everything that changes a bot's versions (switches, pruning)
    without deadlocks, since all take the locks in the same order; SQLite's BEGIN IMMEDIATE has
    already serialised the writers and ignores FOR UPDATE.
    """
    query = (
        select(AIModelVersion)
        .where(
            AIModelVersion.symbol == symbol, AIModelVersion.timeframe == timeframe, AIModelVersion.bot == bot
        )
        .order_by(AIModelVersion.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))


def _missing(version_id: int) -> NotFound:
    return NotFound(f"model version {version_id} does not exist; `python -m core versions` lists them")


def lock_version(session: Session, version_id: int) -> tuple[AIModelVersion, list[AIModelVersion]]:
    """Look a version up and row-lock every version of its bot (`lock_bot_versions`), in the
    caller's write transaction: (the version, all of its bot's versions, itself among them).

    The one way to look up a version for changing it or its bot's active slot, so every such
    change takes the same locks in the same order. `NotFound` when there is no such version.
    """
    slot = session.execute(
        select(AIModelVersion.symbol, AIModelVersion.timeframe, AIModelVersion.bot).where(
            AIModelVersion.id == version_id
        )
    ).first()
    if slot is None:
        raise _missing(version_id)
    rows = lock_bot_versions(session, *slot)
    return next(r for r in rows if r.id == version_id), rows


def get_version(db: Database, version_id: int) -> VersionView:
    """The version as it is now (`NotFound` when there is no such version)."""
    with db.read() as session:
        row = session.get(AIModelVersion, version_id)
        if row is None:
            raise _missing(version_id)
        return VersionView.of(row)


def list_versions(
    db: Database,
    *,
    symbol: str | None = None,
    timeframe: str | None = None,
    bot: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[VersionView]:
    """Newest first."""
    query = select(AIModelVersion).order_by(AIModelVersion.id.desc()).limit(limit)
    for column, value in (
        (AIModelVersion.symbol, symbol),
        (AIModelVersion.timeframe, timeframe),
        (AIModelVersion.bot, bot),
        (AIModelVersion.status, status),
    ):
        if value:
            query = query.where(column == value)
    with db.read() as session:
        return [VersionView.of(row) for row in session.scalars(query)]


def versions_by_id(db: Database, version_ids: Iterable[int]) -> dict[int, VersionView]:
    """The versions among `version_ids` that exist, by id."""
    ids = set(version_ids)
    if not ids:
        return {}
    with db.read() as session:
        return {
            row.id: VersionView.of(row)
            for row in session.scalars(select(AIModelVersion).where(AIModelVersion.id.in_(ids)))
        }


def active_version(db: Database, symbol: str, timeframe: str, bot: str) -> VersionView | None:
    with db.read() as session:
        row = session.scalar(
            select(AIModelVersion).where(AIModelVersion.active_slot == slot_for(symbol, timeframe, bot))
        )
        return VersionView.of(row) if row else None


def active_versions(db: Database, symbol: str, timeframe: str) -> list[VersionView]:
    """The active version of every bot of a pair, by bot name."""
    query = (
        select(AIModelVersion)
        .where(AIModelVersion.symbol == symbol, AIModelVersion.timeframe == timeframe)
        .where(AIModelVersion.active_slot.is_not(None))
        .order_by(AIModelVersion.bot)
    )
    with db.read() as session:
        return [VersionView.of(row) for row in session.scalars(query)]


def mark_broken(db: Database, version_id: int, reason: str) -> None:
    """Flag a version whose artifact cannot be trusted; it stays listed with the reason."""
    with db.session() as session:
        session.execute(
            update(AIModelVersion)
            .where(AIModelVersion.id == version_id, AIModelVersion.status != "pruned")
            .values(status="broken", broken_reason=reason[:2000])
        )


def set_metric(db: Database, version_id: int, key: str, value: Any) -> None:
    """Add or replace one entry of a version's metrics (e.g. the promotion gate's decision)."""
    with db.session() as session:
        row, _ = lock_version(session, version_id)
        row.metrics = {**(row.metrics or {}), key: value}


def set_gate(db: Database, version_id: int, verdict: str, reason: str, gate_json: dict[str, Any]) -> None:
    """Record the promotion gate's decision on a version: its columns and its `gate` metric."""
    with db.session() as session:
        row, _ = lock_version(session, version_id)
        row.gate_verdict, row.gate_reason = verdict, reason[:4000]
        row.metrics = {**(row.metrics or {}), "gate": gate_json}


def discard_versions(db: Database, version_ids: list[int], reason: str) -> list[int]:
    """Mark inactive `ready` versions of a run that never committed (cancelled, interrupted) `discarded`.

    They stay on record (metrics, lineage) but can no longer be activated or become a default.
    Returns the ids changed; an active version is never touched.
    """
    if not version_ids:
        return []
    with db.session() as session:
        rows = session.scalars(
            select(AIModelVersion).where(
                AIModelVersion.id.in_(version_ids),
                AIModelVersion.status == "ready",
                AIModelVersion.active_slot.is_(None),
            )
        ).all()
        for row in rows:
            row.status, row.broken_reason = "discarded", reason[:2000]
        return sorted(row.id for row in rows)
