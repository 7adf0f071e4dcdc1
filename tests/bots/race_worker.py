"""Runs in separate processes (spawned by the race test): activate versions on a shared SQLite file."""

from __future__ import annotations

import os
from multiprocessing.synchronize import Event

from core.context import Context
from core.registry.activation import activate
from core.settings import Settings


def activate_many(home: str, version_ids: list[int], rounds: int, start: Event) -> None:
    ctx = Context(Settings(_env_file=None, candlelab_home=home))  # type: ignore[call-arg]
    start.wait(30)
    for _ in range(rounds):
        for version_id in version_ids:
            activate(ctx, version_id, actor=f"proc-{os.getpid()}", reason="race")
    ctx.db.dispose()
