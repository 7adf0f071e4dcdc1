"""`GET /health`: open to anyone, the process is up and which kind of database it serves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from core import __version__
from core.api.deps import context
from core.api.schemas import Health
from core.context import Context

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness and database reachability (no token)")
def health(ctx: Annotated[Context, Depends(context)]) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "database": "sqlite" if ctx.db.is_sqlite else ctx.db.dialect,
    }
