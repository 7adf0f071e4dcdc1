"""Switching the active version of a (symbol, timeframe, bot), with history and rollback.

The database guarantees one active version: `ai_model_versions.active_slot` is unique and holds
"SYMBOL|TF|BOT" only on the active row. A switch clears the old slot, sets the new one and writes
the `model_activations` row in ONE transaction (BEGIN IMMEDIATE on SQLite, so racing writers
queue); if two writers still collide (PostgreSQL), the unique constraint rejects one and it
retries against the new state.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.context import Context
from core.db.database import Database
from core.db.models import AIModelVersion, ModelActivation, ModelTrainingRecord, TrainingJob
from core.db.types import utcnow
from core.errors import BadInput, CandleLabError, Conflict
from core.registry.loading import verified_files
from core.registry.versions import active_version, get_version, lock_version, slot_for

log = logging.getLogger(__name__)
ANY = object()  # "whatever is active now" for activate(expect_active=...)
RETRIES = 20  # only PostgreSQL collisions retry; each retry sees the winner's committed switch


class ActiveChanged(CandleLabError):
    """The active version moved while a caller decided on the basis of the old one."""


@dataclass(frozen=True)
class ActivationResult:
    version_id: int
    previous_active_id: int | None
    changed: bool

    def as_json(self) -> dict[str, Any]:
        return {"version_id": self.version_id, "previous_active_id": self.previous_active_id}


def _switch(
    db: Database, version_id: int, actor: str, reason: str | None, expect_active: object, action: str
) -> ActivationResult:
    with db.session() as session:
        row, rows = lock_version(session, version_id)
        if row.status != "ready":
            why = f": {row.broken_reason}" if row.broken_reason else ""
            raise BadInput(
                f"model version {version_id} is {row.status}{why}; only ready versions can be activated"
            )
        slot = slot_for(row.symbol, row.timeframe, row.bot)
        current = next((r for r in rows if r.active_slot == slot), None)
        current_id = current.id if current else None
        if expect_active is not ANY and current_id != expect_active:
            raise ActiveChanged(
                f"the active {row.bot} of {row.symbol} {row.timeframe} changed to {current_id}"
            )
        if current is not None and current.id == row.id:
            return ActivationResult(row.id, row.id, changed=False)
        if current is not None:
            current.active_slot = None
            current.is_active = False
            session.flush()  # free the unique slot before taking it
        row.active_slot = slot
        row.is_active = True
        row.activated_at = utcnow()
        session.add(
            ModelActivation(
                symbol=row.symbol,
                timeframe=row.timeframe,
                bot=row.bot,
                version_id=row.id,
                previous_version_id=current_id,
                actor=actor[:64],
                reason=reason,
                action=action,
            )
        )
        session.flush()
        return ActivationResult(row.id, current_id, changed=True)


def uncommitted_reason(db: Database, version_id: int, *, committing: bool = False) -> str | None:
    """Why a version may not go live because of its job, or None when it may.

    A version registered by a job is live-worthy only once that job committed (`succeeded`); until
    then (or when its process died first) only the job's own commit may activate it. A version
    with no job (registered directly) is judged by its status alone.
    """
    with db.read() as session:
        row = session.execute(
            select(TrainingJob.id, TrainingJob.status)
            .join(ModelTrainingRecord, ModelTrainingRecord.job_id == TrainingJob.id)
            .join(AIModelVersion, AIModelVersion.training_record_id == ModelTrainingRecord.id)
            .where(AIModelVersion.id == version_id)
        ).first()
    if row is None:
        return None
    job_id, status = row
    allowed = ("queued", "running") if committing else ("succeeded",)
    if status in allowed:
        return None
    if committing:
        return f"job {job_id} is {status}: only a running job commits its own versions"
    state = (
        "has not committed yet" if status in ("queued", "running") else f"ended {status} before it committed"
    )
    return (
        f"model version {version_id} comes from job {job_id}, which {state}; only a version whose job "
        "committed can go live"
    )


def activate(
    ctx: Context,
    version_id: int,
    *,
    actor: str,
    reason: str | None = None,
    expect_active: object = ANY,
    action: str = "activate",
    committing: bool = False,
) -> ActivationResult:
    """Make a version the active one of its bot; its artifact is verified first (a bad one is refused).

    `expect_active` (a version id or None) makes the switch conditional on what is active now,
    for decisions like the promotion gate that were taken against a particular active version.
    `committing` is the job's own commit of the versions it trained; every other path (a page, the
    CLI, the API) may activate only versions of jobs that committed.
    """
    version = get_version(ctx.db, version_id)
    if version.status != "ready":
        why = f": {version.broken_reason}" if version.broken_reason else ""
        raise BadInput(
            f"model version {version_id} is {version.status}{why}; only ready versions can be activated"
        )
    refused = uncommitted_reason(ctx.db, version_id, committing=committing)
    if refused:
        raise Conflict(refused)
    verified_files(ctx, version)
    for attempt in range(RETRIES):
        try:
            result = _switch(ctx.db, version_id, actor, reason, expect_active, action)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
            time.sleep(random.uniform(0.0, 0.01 * (attempt + 1)))  # de-synchronise the losers
            continue
        if result.changed:
            log.info(
                "activated model version %d (previous %s) by %s: %s",
                version_id,
                result.previous_active_id,
                actor,
                reason or "-",
            )
        return result
    raise AssertionError("unreachable")


def deactivate(ctx: Context, version_id: int, *, actor: str, reason: str) -> bool:
    """Take a version out of service (its bot then has no active version); False if it was not active.

    Recorded in the activation history as a "deactivate" row (the version, by whom and why), in
    the same transaction that frees the slot.
    """
    with ctx.db.session() as session:
        row, _ = lock_version(session, version_id)
        if row.active_slot is None:
            return False
        row.active_slot, row.is_active = None, False
        session.add(
            ModelActivation(
                symbol=row.symbol,
                timeframe=row.timeframe,
                bot=row.bot,
                version_id=row.id,
                previous_version_id=row.id,
                actor=actor[:64],
                reason=reason,
                action="deactivate",
            )
        )
    log.warning("deactivated model version %d by %s: %s", version_id, actor, reason)
    return True


def history(db: Database, symbol: str, timeframe: str, bot: str, limit: int = 100) -> list[dict[str, Any]]:
    """Activations of a bot, newest first."""
    query = (
        select(ModelActivation)
        .where(
            ModelActivation.symbol == symbol,
            ModelActivation.timeframe == timeframe,
            ModelActivation.bot == bot,
        )
        .order_by(ModelActivation.id.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [
            {
                "version_id": a.version_id,
                "previous_version_id": a.previous_version_id,
                "action": a.action,
                "actor": a.actor,
                "reason": a.reason,
                "created_at": a.created_at.isoformat(),
            }
            for a in session.scalars(query)
        ]


@dataclass(frozen=True)
class ActivationEntry:
    """One row of a pair's activation history (activations, rollbacks, deactivations)."""

    bot: str
    version_id: int
    previous_version_id: int | None
    action: str
    actor: str
    reason: str | None
    created_at: datetime


def deactivations(db: Database, symbol: str, timeframe: str, limit: int) -> list[ActivationEntry]:
    """The pair's latest deactivations (demotions and manual ones) of any bot, newest first."""
    query = (
        select(ModelActivation)
        .where(
            ModelActivation.symbol == symbol,
            ModelActivation.timeframe == timeframe,
            ModelActivation.action == "deactivate",
        )
        .order_by(ModelActivation.id.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [
            ActivationEntry(
                a.bot, a.version_id, a.previous_version_id, a.action, a.actor, a.reason, a.created_at
            )
            for a in session.scalars(query)
        ]


def previous_active_id(db: Database, symbol: str, timeframe: str, bot: str) -> int | None:
    """The version that was active before the current one (from the activation that made it active)."""
    current = active_version(db, symbol, timeframe, bot)
    if current is None:
        return None
    with db.read() as session:
        return session.scalar(
            select(ModelActivation.previous_version_id)
            .where(ModelActivation.version_id == current.version_id)
            .where(ModelActivation.symbol == symbol, ModelActivation.timeframe == timeframe)
            .where(ModelActivation.bot == bot)
            .order_by(ModelActivation.id.desc())
            .limit(1)
        )


def rollback(
    ctx: Context, symbol: str, timeframe: str, bot: str, *, actor: str, reason: str | None = None
) -> ActivationResult:
    """Re-activate the version that was active before the current one."""
    current = active_version(ctx.db, symbol, timeframe, bot)
    if current is None:
        raise BadInput(f"{bot} of {symbol} {timeframe} has no active version to roll back from")
    previous = previous_active_id(ctx.db, symbol, timeframe, bot)
    if previous is None:
        raise BadInput(f"{bot} of {symbol} {timeframe} has no previous active version to roll back to")
    why = reason or f"rollback from version {current.version_id}"
    # Recorded as a "rollback" in the activation history, not as a plain activation.
    return activate(
        ctx, previous, actor=actor, reason=why, expect_active=current.version_id, action="rollback"
    )
