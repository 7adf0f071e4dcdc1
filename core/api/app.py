"""The FastAPI application: routes, the one error shape, the body cap, and the engine's lifetime.

`create_app()` is also uvicorn's factory (`core.api.app:create_app`). The lifespan starts one
engine (context with the schema current, job runner with its background executor, no scheduler:
`python -m core scheduler` or the dashboard runs that) and shuts it down when the server stops.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core import __version__
from core.access import tokens
from core.api import errors, logs
from core.api.auth_first import AuthFirst
from core.api.deps import ApiState
from core.api.errors import documented
from core.api.limits import BodyLimit
from core.api.routes import health, models, outcomes, samples, signals, training
from core.runtime import start_engine
from core.settings import Settings, load_settings

log = logging.getLogger(__name__)

DESCRIPTION = """The CandleLab engine for trading engines and scripts (CONTRACTS §4).

Every route but `/health`, `/docs` and `/openapi.json` needs `Authorization: Bearer <token>`
with the route's scope (`read`, `train`, `activate`, `outcomes`); create tokens with
`python -m core tokens create --name NAME --scopes read,outcomes`. Long work (training,
labeling, retraining) starts a job and answers at once; poll `/api/ai-training/status`.
Errors answer `{"error": {"message", "type"}}`.
"""

# The event loop and the writer thread take turns on the GIL, and the SQLite driver gives it up
# and takes it back around every statement. With Python's default 5 ms switch interval a writer
# coming back from SQLite waits for the busy loop to yield; 0.5 ms hands it over sooner
# (bench/api_load.py: about a fifth more requests per second on SQLite, same CPU per request).
GIL_SWITCH_S = 0.0005
DOCUMENTED_ORDER = ("health", "training", "models", "signals", "outcomes")
_ERRORS = documented(401, 403, 422, 500, 503)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for `settings` (default: the environment's), ready for any ASGI server."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.install()
        sys.setswitchinterval(GIL_SWITCH_S)
        engine = start_engine(settings, scheduler=False)
        if not tokens.any_active(engine.ctx.db):
            log.warning(
                "no API token exists yet: every route but /health answers 401; create one with "
                "`python -m core tokens create --name NAME --scopes read`"
            )
        app.state.api = ApiState.start(engine)
        log.info("service API ready on %s", engine.ctx.db.url.split("///")[-1].split("@")[-1])
        try:
            yield
        finally:
            app.state.api = None
            engine.shutdown()
            log.info("service API stopped")

    app = FastAPI(
        title="CandleLab service API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=_ERRORS,  # type: ignore[arg-type]
        openapi_tags=[{"name": tag} for tag in DOCUMENTED_ORDER],  # /docs keeps its reading order
    )
    errors.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(AuthFirst)  # outermost: no body is read for a request without a valid token
    # Routes are matched in the order they are included: a trading engine's hot routes first.
    for module in (outcomes, signals, health, training, models, samples):
        app.include_router(module.router)
    return app
