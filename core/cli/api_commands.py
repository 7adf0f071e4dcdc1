"""`api`: serve the service API (CONTRACTS §4) with uvicorn.

uvicorn is given the application factory by its import string (`core.api.app:create_app`), the
form it needs to run more than one worker process; each process builds its engine from the same
settings the command read. Binding beyond the loopback interface with no live API token is
refused: the server would have no door anyone could open, and that is always a mistake.
"""

from __future__ import annotations

import argparse

from core.access import tokens
from core.access.binding import is_loopback
from core.cli.output import CommandResult
from core.context import Context
from core.errors import BadInput

APP = "core.api.app:create_app"
DEFAULT_PORT = 8000
GRACEFUL_SHUTDOWN_S = 10


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    api = subparsers.add_parser("api", parents=[common], help="serve the HTTP API with uvicorn")
    api.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    api.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    api.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    api.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (off by default: at a trading engine's rate they would rotate "
        "the training and audit events out of backend.log within minutes)",
    )
    api.set_defaults(handler=_serve)


def _check(ctx: Context, args: argparse.Namespace) -> None:
    if not 1 <= args.port <= 65535:
        raise BadInput(f"--port: {args.port} is not a TCP port (1-65535)")
    if not 1 <= args.workers <= 64:
        raise BadInput(f"--workers: {args.workers} is not between 1 and 64")
    if not is_loopback(args.host) and not tokens.any_active(ctx.db):
        raise BadInput(
            f"refusing to serve the API on {args.host} while no API token exists: anyone who can reach "
            "it would meet a door no one can open. Create a token first with `python -m core tokens "
            "create --name NAME --scopes read,outcomes`, or serve on 127.0.0.1 (the default)"
        )


def _serve(ctx: Context, args: argparse.Namespace) -> CommandResult:
    import uvicorn  # loads only for this command, so every other command starts fast

    _check(ctx, args)
    uvicorn.run(
        APP,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,  # CandleLab's logging (one line per event, secrets masked) is already set up
        access_log=args.access_log,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return CommandResult({"stopped": True, "host": args.host, "port": args.port})
