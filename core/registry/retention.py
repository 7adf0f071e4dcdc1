"""Retention: keep the newest N artifacts per (symbol, timeframe, bot), never the active or previous one.

Pruned versions keep their rows and metrics (status "pruned") so the comparison page still shows
them; only the files go, from whichever artifact store holds them. The rows are marked in one
transaction and the files removed after it commits, so an activation racing with a prune sees
either a ready version with its files or a pruned one it refuses.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from core.context import Context
from core.db.models import ModelActivation
from core.registry.versions import lock_bot_versions

log = logging.getLogger(__name__)


def prune(ctx: Context, symbol: str, timeframe: str, bot: str, *, keep: int | None = None) -> list[int]:
    """Prune versions beyond the newest `keep` (default `settings.model_retention`); returns their ids."""
    keep = keep if keep is not None else ctx.settings.model_retention
    keys: list[str] = []
    pruned: list[int] = []
    with ctx.db.session() as session:
        # Newest first; locked like activations so a concurrent switch sees the pruned state.
        rows = [
            r for r in reversed(lock_bot_versions(session, symbol, timeframe, bot)) if r.status != "pruned"
        ]
        protected = {row.id for row in rows[:keep]}
        active = next((row for row in rows if row.active_slot is not None), None)
        if active is not None:
            protected.add(active.id)
            previous = session.scalar(
                select(ModelActivation.previous_version_id)
                .where(ModelActivation.version_id == active.id)
                .order_by(ModelActivation.id.desc())
                .limit(1)
            )
            if previous is not None:
                protected.add(previous)
        for row in rows:
            if row.id in protected:
                continue
            row.status = "pruned"
            pruned.append(row.id)
            if row.artifact_path:
                keys.append(row.artifact_path)
    for key in keys:
        ctx.artifacts.remove(key)
    if pruned:
        log.info("pruned %d %s version(s) of %s %s: %s", len(pruned), bot, symbol, timeframe, pruned)
    return pruned
