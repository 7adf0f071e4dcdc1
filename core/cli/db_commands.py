"""`db upgrade` and `db copy` (and `db downgrade`, `db current` for operators)."""

from __future__ import annotations

import argparse

from pydantic import SecretStr

from core.artifacts.base import ArtifactStore
from core.cli.output import CommandResult
from core.context import Context
from core.db.database import Database, UnusableDatabaseURL, open_database
from core.errors import BadInput
from core.logging_setup import add_secrets
from core.urls import redact_url, url_secrets


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    db = subparsers.add_parser("db", help="database schema migrations and copies")
    sub = db.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", parents=[common], help="apply migrations up to a revision (head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_upgrade, skip_migrate=True)
    down = sub.add_parser("downgrade", parents=[common], help="revert migrations down to a revision")
    down.add_argument("revision")
    down.set_defaults(handler=_downgrade, skip_migrate=True)
    cur = sub.add_parser("current", parents=[common], help="show the applied and the latest revision")
    cur.set_defaults(handler=_current, skip_migrate=True)
    cp = sub.add_parser(
        "copy", parents=[common], help="copy this installation into another (empty) database, verified"
    )
    cp.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql+psycopg://…")
    cp.add_argument("--replace", action="store_true", help="delete what the target holds first")
    cp.add_argument(
        "--artifact-url",
        metavar="URL",
        help="also copy the artifacts of ready versions to this store (the target's ARTIFACT_URL)",
    )
    cp.set_defaults(handler=_copy)


def _upgrade(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.db import migrate

    revision = migrate.upgrade(ctx.db, args.revision)
    return CommandResult({"revision": revision, "head": migrate.head_revision(ctx.db)})


def _downgrade(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.db import migrate

    return CommandResult({"revision": migrate.downgrade(ctx.db, args.revision)})


def _current(ctx: Context, args: argparse.Namespace) -> CommandResult:
    from core.db import migrate

    return CommandResult(
        {"revision": migrate.current_revision(ctx.db), "head": migrate.head_revision(ctx.db)}
    )


def _target_database(url: str) -> Database:
    try:
        return open_database(url)
    except UnusableDatabaseURL as exc:
        raise BadInput(
            f"--to {redact_url(url)} is not a database URL this installation can use: {exc}"
        ) from None


def _copy(ctx: Context, args: argparse.Namespace) -> CommandResult:
    """Artifacts first (undone if the database copy fails), then every table in one transaction."""
    from core.artifacts.stores import open_store
    from core.db.transfer import copy_database
    from core.registry.artifact_copy import copy_artifacts, remove_copies

    add_secrets(url_secrets(args.to) + url_secrets(args.artifact_url))
    artifacts: dict[str, object] = {"store": redact_url(ctx.settings.artifact_location), "copied": 0}
    target = _target_database(args.to)
    store: ArtifactStore | None = None
    copied: list[str] = []
    try:
        if args.artifact_url:
            store = open_store(ctx.settings.model_copy(update={"artifact_url": SecretStr(args.artifact_url)}))
            report = copy_artifacts(ctx.db, ctx.artifacts, store, redact_url(args.artifact_url))
            copied, artifacts = report.copied, report.as_json()
        try:
            result = copy_database(ctx.db, target, replace=args.replace)
        except BaseException:
            if store is not None:
                remove_copies(store, copied)
            raise
    finally:
        target.dispose()
    return CommandResult(
        {
            "tables": result.tables,
            "verified": result.verified,
            "target": result.target,
            "artifacts": artifacts,
        }
    )
